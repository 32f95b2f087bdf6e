namespace Asgilook.Storage.Bucket;

/// <summary>
/// The bucket with a <see cref="ReadCache"/> of originals in front: an upload is kept there as it is written (the
/// first reads of a new image are the likeliest), a read missing there fetches the original once (to disk, streamed)
/// and keeps it; a delete drops the copy. Everything else is the bucket's.
/// </summary>
public sealed class CachedBucketStore(BucketStore bucket, ReadCache cache) : IBlobStore, IDisposable
{
    public string Description => bucket.Description;

    public bool IsRemote => bucket.IsRemote;

    public string? AwayReason => bucket.AwayReason;

    public long? FreeBytes() => bucket.FreeBytes();

    public bool KnownMissing(Guid id) => bucket.KnownMissing(id);

    public Task PrepareAsync(CancellationToken cancellationToken) => bucket.PrepareAsync(cancellationToken);

    public async Task WriteAsync(Guid id, byte[] jpeg, byte[]? animation, CancellationToken cancellationToken)
    {
        await bucket.WriteAsync(id, jpeg, animation, cancellationToken);
        cache.Keep(id, jpeg);
    }

    /// <summary>The copy when there is one; otherwise the original streamed from the bucket to a copy, then the copy.</summary>
    public async Task<Stream?> OpenOriginalAsync(Guid id, CancellationToken cancellationToken)
    {
        if (cache.Open(id) is { } copy)
        {
            return copy;
        }

        var fetched = await bucket.OpenOriginalAsync(id, cancellationToken);
        if (fetched is null || fetched.Length > cache.Largest)
        {
            return fetched; // gone, or too large to keep: streamed from the bucket
        }

        await using (fetched)
        {
            await cache.KeepAsync(id, fetched, cancellationToken);
        }

        return cache.Open(id) ?? await bucket.OpenOriginalAsync(id, cancellationToken);
    }

    public async Task<byte[]?> ReadOriginalAsync(Guid id, CancellationToken cancellationToken)
    {
        if (cache.Open(id) is { } copy)
        {
            await using (copy)
            {
                var bytes = new byte[copy.Length];
                await copy.ReadExactlyAsync(bytes, cancellationToken);
                return bytes;
            }
        }

        var read = await bucket.ReadOriginalAsync(id, cancellationToken);
        if (read is not null)
        {
            cache.Keep(id, read);
        }

        return read;
    }

    public async Task DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        cache.Forget(id);
        await bucket.DeleteAsync(id, cancellationToken);
    }

    public Task<Stream?> OpenRenderAsync(Guid id, string name, CancellationToken cancellationToken) => bucket.OpenRenderAsync(id, name, cancellationToken);

    public Task<byte[]?> ReadRenderAsync(Guid id, string name, int maxBytes, CancellationToken cancellationToken) =>
        bucket.ReadRenderAsync(id, name, maxBytes, cancellationToken);

    public Task WriteRenderAsync(Guid id, string name, byte[] bytes, CancellationToken cancellationToken) =>
        bucket.WriteRenderAsync(id, name, bytes, cancellationToken);

    public Task DeleteRenderAsync(Guid id, string name, CancellationToken cancellationToken) => bucket.DeleteRenderAsync(id, name, cancellationToken);

    public Task<IReadOnlyDictionary<Guid, FilePresence>> PresenceAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken) =>
        bucket.PresenceAsync(ids, cancellationToken);

    public Task ProbeWritableAsync(CancellationToken cancellationToken) => bucket.ProbeWritableAsync(cancellationToken);

    public Task<string?> ReadIdentityAsync(CancellationToken cancellationToken) => bucket.ReadIdentityAsync(cancellationToken);

    public Task<string> ClaimIdentityAsync(string identity, CancellationToken cancellationToken) => bucket.ClaimIdentityAsync(identity, cancellationToken);

    public Task<int> CountImagesAsync(CancellationToken cancellationToken) => bucket.CountImagesAsync(cancellationToken);

    /// <summary>The bucket's leftovers, and the copies of images no longer listed (deleted on another instance).</summary>
    public async Task<LeftoverReport> SettleLeftoversAsync(
        IReadOnlyCollection<Guid> catalogued, TimeSpan grace, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var report = await bucket.SettleLeftoversAsync(catalogued, grace, now, cancellationToken);
        cache.ForgetAllBut(catalogued);
        return report;
    }

    public void Dispose() => bucket.Dispose();
}
