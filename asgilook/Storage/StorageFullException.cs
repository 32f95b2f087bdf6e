namespace Asgilook.Storage;

/// <summary>The storage folder's disk is full (or below <c>MinFreeDiskMegabytes</c>): an upload answers 507.</summary>
public sealed class StorageFullException(Exception? inner = null) : Exception("The storage folder's disk is full.", inner)
{
    private const int NoSpaceOnLinux = 28; // ENOSPC
    private const int DiskFullOnWindows = unchecked((int)0x80070070);
    private const int SqliteFull = 13; // SQLITE_FULL

    public static bool IsDiskFull(IOException e) => e.HResult is NoSpaceOnLinux or DiskFullOnWindows;

    public static bool IsDiskFull(Exception e) => e switch
    {
        IOException io => IsDiskFull(io),
        Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: SqliteFull } => true,
        _ => false,
    };
}
