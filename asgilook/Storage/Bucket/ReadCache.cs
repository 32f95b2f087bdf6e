using System.Collections.Concurrent;

namespace Asgilook.Storage.Bucket;

/// <summary>
/// Copies of originals on this instance's disk (<c>&lt;StoragePath&gt;/.read-cache/</c>), bounded to
/// <c>S3:ReadCacheMegabytes</c>, least recently used out first: an original read again is sent as a file, as from the
/// folder store, with no round trip. Nothing here is the only copy: a lost or evicted file is read from the bucket
/// again. A copy is served only for an image the catalog lists (its GUID is never reused), so one left behind by a
/// delete on another instance is never answered, only evicted in its turn.
/// </summary>
public sealed class ReadCache
{
    public const string FolderName = ".read-cache";

    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();
    private readonly long _capacity;
    private readonly Lock _evicting = new();
    private long _bytes;

    private sealed class Entry(long size)
    {
        public long Size { get; } = size;

        public long LastUse { get; set; } = Environment.TickCount64;
    }

    public ReadCache(string storagePath, long capacityBytes)
    {
        Folder = Directory.CreateDirectory(Path.Combine(Path.GetFullPath(storagePath), FolderName)).FullName;
        _capacity = capacityBytes;
        foreach (var file in new DirectoryInfo(Folder).EnumerateFiles())
        {
            if (Guid.TryParse(Path.GetFileNameWithoutExtension(file.Name), out var id) && file.Extension == BlobKeys.OriginalExtension)
            {
                _entries[id] = new Entry(file.Length) { LastUse = 0 };
                _bytes += file.Length;
            }
            else
            {
                file.Delete(); // an unfinished copy
            }
        }

        Evict();
    }

    public string Folder { get; }

    /// <summary>The bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The copy, open for streaming; null when there is none.</summary>
    public FileStream? Open(Guid id)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            return null;
        }

        try
        {
            var file = new FileStream(PathOf(id), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            entry.LastUse = Environment.TickCount64;
            return file;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Forget(id); // deleted by hand: read from the bucket again
            return null;
        }
    }

    /// <summary>The largest original kept: one never takes more than a quarter of the cache.</summary>
    public long Largest => _capacity / 4;

    /// <summary>Keeps a copy of the bytes, then evicts past the bound.</summary>
    public void Keep(Guid id, byte[] bytes)
    {
        if (bytes.Length <= Largest && !_entries.ContainsKey(id))
        {
            Place(id, bytes.Length, temporary => File.WriteAllBytes(temporary, bytes));
        }
    }

    /// <summary>Keeps a copy of what <paramref name="source"/> holds, streamed to disk (never whole in memory), then evicts past the bound.</summary>
    public async Task KeepAsync(Guid id, Stream source, CancellationToken cancellationToken)
    {
        if (source.Length > Largest || _entries.ContainsKey(id))
        {
            return;
        }

        var temporary = Path.Combine(Folder, $"{id}.{Guid.NewGuid():N}.part");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await source.CopyToAsync(file, cancellationToken);
            }

            Place(id, source.Length, temporary);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Renames a written copy into place (a reader sees all of it or none) and counts it.</summary>
    private void Place(Guid id, long size, string temporary)
    {
        try
        {
            File.Move(temporary, PathOf(id), overwrite: true);
        }
        catch (IOException)
        {
            return;
        }

        if (_entries.TryAdd(id, new Entry(size)))
        {
            Interlocked.Add(ref _bytes, size);
        }

        Evict();
    }

    private void Place(Guid id, long size, Action<string> write)
    {
        var temporary = Path.Combine(Folder, $"{id}.{Guid.NewGuid():N}.part");
        try
        {
            write(temporary);
            Place(id, size, temporary);
        }
        catch (IOException)
        {
            // A full or failing disk: the bucket still has it.
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Drops the copies of every image not in <paramref name="catalogued"/> (deleted here or on another instance).</summary>
    public int ForgetAllBut(IReadOnlyCollection<Guid> catalogued)
    {
        var gone = _entries.Keys.Where(id => !catalogued.Contains(id)).ToList();
        gone.ForEach(Forget);
        return gone.Count;
    }

    public void Forget(Guid id)
    {
        if (_entries.TryRemove(id, out var entry))
        {
            Interlocked.Add(ref _bytes, -entry.Size);
        }

        File.Delete(PathOf(id));
    }

    private void Evict()
    {
        if (Bytes <= _capacity)
        {
            return;
        }

        lock (_evicting)
        {
            // Down to nine tenths, oldest use first, so that eviction is not paid on every copy kept.
            foreach (var (id, _) in _entries.OrderBy(pair => pair.Value.LastUse).ToList())
            {
                if (Bytes <= _capacity * 9 / 10)
                {
                    break;
                }

                Forget(id);
            }
        }
    }

    private string PathOf(Guid id) => Path.Combine(Folder, BlobKeys.Original(id));
}
