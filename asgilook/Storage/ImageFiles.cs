namespace Asgilook.Storage;

/// <summary>
/// The JPEG files in the storage folder: <c>&lt;uuid&gt;.jpeg</c>, written under <c>.incoming/</c>,
/// flushed to disk and renamed into place, so that a reader (or a crash) never sees half a file.
/// </summary>
public sealed class ImageFiles(string root)
{
    public const string IncomingFolder = ".incoming";
    private const string Extension = ".jpeg";

    public string Root { get; } = Path.GetFullPath(root);

    private string Incoming => Path.Combine(Root, IncomingFolder);

    public void CreateFolders() => Directory.CreateDirectory(Incoming);

    public string PathOf(Guid id) => Path.Combine(Root, $"{id}{Extension}");

    public bool Exists(Guid id) => File.Exists(PathOf(id));

    /// <summary>Writes the file atomically; fails if a file with that id exists already.</summary>
    public async Task WriteAsync(Guid id, byte[] jpeg, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(Incoming, $"{id}.{Guid.NewGuid():N}.part");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await file.WriteAsync(jpeg, cancellationToken);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, PathOf(id), overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public void Delete(Guid id) => File.Delete(PathOf(id));

    /// <summary>The file, open for reading; null when there is none.</summary>
    public FileStream? OpenRead(Guid id)
    {
        try
        {
            // Once open, the file stays readable even if it is deleted meanwhile.
            return new FileStream(PathOf(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes and removes a small file where uploads are written; throws when that fails.</summary>
    public async Task ProbeWritableAsync(CancellationToken cancellationToken)
    {
        var probe = Path.Combine(Incoming, $"health.{Guid.NewGuid():N}.probe");
        try
        {
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
        }
        finally
        {
            File.Delete(probe);
        }
    }

    /// <summary>
    /// Removes what a crash can leave behind: unfinished writes, and files no catalog row names.
    /// Only files older than <paramref name="grace"/> go, so that an upload another process is
    /// finishing right now (renamed, its row not yet committed) is left alone.
    /// </summary>
    /// <returns>How many files were removed.</returns>
    public int RemoveLeftovers(IReadOnlyCollection<Guid> catalogued, TimeSpan grace, DateTimeOffset now)
    {
        var removed = 0;
        var unfinished = Directory.EnumerateFiles(Incoming);
        var uncatalogued = Directory.EnumerateFiles(Root, $"*{Extension}")
            .Where(path => !Guid.TryParse(Path.GetFileNameWithoutExtension(path), out var id) || !catalogued.Contains(id));
        foreach (var path in unfinished.Concat(uncatalogued).ToList())
        {
            if (now - File.GetLastWriteTimeUtc(path) >= grace)
            {
                File.Delete(path);
                removed++;
            }
        }

        return removed;
    }
}
