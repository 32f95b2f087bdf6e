using Asgilook.Storage.Bucket;
using Xunit;

namespace Asgilook.Tests;

/// <summary>The copies of originals an instance keeps in front of a bucket: bounded, least recently used out first, never half a file.</summary>
public sealed class ReadCacheTests : IDisposable
{
    private readonly TemporaryFolder _storage = new("asgilook-read-cache-");

    public void Dispose() => _storage.Dispose();

    private static byte[] Bytes(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    [Fact]
    public async Task A_copy_reads_back_and_the_bound_evicts_the_least_recently_used()
    {
        var cache = new ReadCache(_storage.Path, 1000);
        var (a, b, c, d) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        cache.Keep(a, Bytes(240, 1));
        await Task.Delay(20);
        cache.Keep(b, Bytes(240, 2));
        await Task.Delay(20);
        cache.Keep(c, Bytes(240, 3));
        await Task.Delay(20);
        using (var used = cache.Open(a))
        {
            Assert.Equal(240, used!.Length); // a is now the most recently used
        }

        await Task.Delay(20);
        cache.Keep(d, Bytes(240, 4)); // 960 of 1000: no eviction yet
        Assert.Equal(960, cache.Bytes);
        cache.Keep(Guid.NewGuid(), Bytes(240, 5)); // 1200: down to 900 or less, b first, then c

        Assert.True(cache.Bytes <= 900, $"{cache.Bytes} bytes kept");
        Assert.Null(cache.Open(b));
        Assert.Null(cache.Open(c));
        using var kept = cache.Open(a);
        Assert.Equal(Bytes(240, 1), await ReadAsync(kept!));
        Assert.Equal(cache.Bytes, Directory.GetFiles(cache.Folder).Sum(path => new FileInfo(path).Length));
    }

    [Fact]
    public void An_original_larger_than_a_quarter_is_never_kept()
    {
        var cache = new ReadCache(_storage.Path, 1000);
        var id = Guid.NewGuid();

        cache.Keep(id, Bytes(251, 1));

        Assert.Null(cache.Open(id));
        Assert.Empty(Directory.GetFiles(cache.Folder));
    }

    [Fact]
    public async Task A_restart_keeps_the_copies_and_removes_unfinished_ones_and_strays()
    {
        var id = Guid.NewGuid();
        new ReadCache(_storage.Path, 1000).Keep(id, Bytes(100, 7));
        var folder = Path.Combine(_storage.Path, ReadCache.FolderName);
        await File.WriteAllBytesAsync(Path.Combine(folder, $"{Guid.NewGuid()}.{Guid.NewGuid():N}.part"), Bytes(50, 1));
        await File.WriteAllTextAsync(Path.Combine(folder, "../../etc-passwd.jpeg"[6..]), "not ours");

        var restarted = new ReadCache(_storage.Path, 1000);

        Assert.Equal(100, restarted.Bytes);
        Assert.Equal([$"{id}.jpeg"], Directory.GetFiles(folder).Select(Path.GetFileName));
        using var kept = restarted.Open(id);
        Assert.Equal(Bytes(100, 7), await ReadAsync(kept!));
    }

    [Fact]
    public async Task A_copy_deleted_by_hand_or_forgotten_is_not_answered()
    {
        var cache = new ReadCache(_storage.Path, 1000);
        var (lost, forgotten) = (Guid.NewGuid(), Guid.NewGuid());
        cache.Keep(lost, Bytes(100, 1));
        cache.Keep(forgotten, Bytes(100, 2));
        File.Delete(Path.Combine(cache.Folder, $"{lost}.jpeg"));

        cache.Forget(forgotten);

        Assert.Null(cache.Open(lost));
        Assert.Null(cache.Open(forgotten));
        Assert.Equal(0, cache.Bytes);
        using var source = new MemoryStream(Bytes(200, 9));
        await cache.KeepAsync(lost, source, CancellationToken.None);
        using var again = cache.Open(lost);
        Assert.Equal(Bytes(200, 9), await ReadAsync(again!));
    }

    private static async Task<byte[]> ReadAsync(Stream stream)
    {
        using var bytes = new MemoryStream();
        await stream.CopyToAsync(bytes);
        return bytes.ToArray();
    }
}
