using System.Runtime.InteropServices;

namespace Asgilook.Storage;

/// <summary>
/// Flushing a folder to disk: what makes a rename (a file's arrival in the folder) survive a power cut.
/// .NET has no call for it; on Linux it is open(2) of the folder and fsync(2). Elsewhere a no-op: other
/// systems order metadata writes themselves, or cannot fsync a folder.
/// </summary>
internal static class Durability
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux

    public static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var descriptor = Open(folder, ReadOnly | Directory);
        if (descriptor < 0)
        {
            throw new IOException($"The folder {folder} could not be opened to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw new IOException($"The folder {folder} could not be flushed to disk (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    // DllImport, not the source-generated LibraryImport: coverlet cannot instrument the local extern function the generator writes.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int descriptor);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int descriptor);
}
