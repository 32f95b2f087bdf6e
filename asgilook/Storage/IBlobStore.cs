namespace Asgilook.Storage;

/// <summary>
/// Where the images' bytes live: each stored JPEG (the original) and the renders kept beside it. Two kinds: the storage
/// folder (<see cref="ImageFiles"/>, the embedded default) and an S3 bucket (<see cref="Bucket.BucketStore"/>). Both
/// write atomically (a reader sees all of an object or none of it) and durably (an acknowledged write survives a crash),
/// and both name things by <see cref="BlobKeys"/>, so a folder is copied into a bucket as it is.
/// </summary>
/// <remarks>
/// A store that cannot be reached (a bucket timing out, refusing or answering 5xx) throws <see cref="StoreUnavailableException"/>,
/// which requests answer as 503 with Retry-After.
/// </remarks>
public interface IBlobStore
{
    /// <summary>Which folder or bucket, for logs and the readiness check (never a key or password).</summary>
    string Description { get; }

    /// <summary>
    /// Whether each call is a round trip over the network (a bucket): a render is then kept after it is answered, not
    /// before, so that no thumbnail waits for its copy to be written.
    /// </summary>
    bool IsRemote { get; }

    /// <summary>Free space where images are written, in bytes; null where that is not this service's to watch (a bucket).</summary>
    long? FreeBytes();

    /// <summary>
    /// Why the store was found unreachable by a call in the last few seconds (as many as a refused request is told to wait
    /// before it retries); null when it was not. Uploads are refused at once meanwhile, before their bodies are read and
    /// converted for nothing. The folder is never away: its failures are the disk's, answered as they come.
    /// </summary>
    string? AwayReason { get; }

    /// <summary>
    /// Whether the original is certainly gone, as far as a cheap look tells. The folder looks; a bucket never does (a
    /// round trip per request), trusting the catalog's order of writes instead: a read of an object that is gone finds out.
    /// </summary>
    bool KnownMissing(Guid id);

    /// <summary>Creates what the store needs before the first write (the folders, the bucket).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes the original, atomically and durably, and an animated upload's animation beside it
    /// (<see cref="BlobKeys.Animation"/>, among its renders) as durably; fails if an original with that id exists already.
    /// </summary>
    /// <exception cref="StorageFullException">The disk is full; nothing of the original is left.</exception>
    Task WriteAsync(Guid id, byte[] jpeg, byte[]? animation, CancellationToken cancellationToken);

    /// <summary>The original, open for streaming (seekable, for ranges); null when there is none.</summary>
    Task<Stream?> OpenOriginalAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>The original, whole; null when there is none.</summary>
    Task<byte[]?> ReadOriginalAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Deletes the original, then its renders.</summary>
    Task DeleteAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>A kept render, open for streaming (seekable); null when there is none.</summary>
    Task<Stream?> OpenRenderAsync(Guid id, string name, CancellationToken cancellationToken);

    /// <summary>A kept render's bytes, when there is one no larger than <paramref name="maxBytes"/>.</summary>
    Task<byte[]?> ReadRenderAsync(Guid id, string name, int maxBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps a render beside its original, atomically. Not kept when the original went meanwhile: then the renders go
    /// too, so a delete never leaves renders behind.
    /// </summary>
    Task WriteRenderAsync(Guid id, string name, byte[] bytes, CancellationToken cancellationToken);

    Task DeleteRenderAsync(Guid id, string name, CancellationToken cancellationToken);

    /// <summary>
    /// Whether each original is there, is certainly not there, or cannot be told (any failure but "it does not exist").
    /// Only the second is ever taken for a lost original.
    /// </summary>
    Task<IReadOnlyDictionary<Guid, FilePresence>> PresenceAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken);

    /// <summary>Writes and removes a small object where originals are written; throws when that fails.</summary>
    Task ProbeWritableAsync(CancellationToken cancellationToken);

    /// <summary>The store's identity; null when it has none yet.</summary>
    Task<string?> ReadIdentityAsync(CancellationToken cancellationToken);

    /// <summary>Gives the store <paramref name="identity"/> unless another process gave it one first; answers the one it has.</summary>
    Task<string> ClaimIdentityAsync(string identity, CancellationToken cancellationToken);

    /// <summary>How many originals the store holds.</summary>
    Task<int> CountImagesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Settles what a crash, a failed delete or a hand edit left: unfinished writes, and originals and renders that no
    /// catalogued image names, once older than <paramref name="grace"/> (an upload another process is finishing right
    /// now is left alone). The folder moves leftover originals aside for an operator; a bucket deletes them.
    /// </summary>
    Task<LeftoverReport> SettleLeftoversAsync(IReadOnlyCollection<Guid> catalogued, TimeSpan grace, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>What settling the leftovers did.</summary>
/// <param name="Originals">Leftover originals (and unfinished writes) moved aside or deleted.</param>
/// <param name="Renders">Renders of no catalogued image deleted.</param>
/// <param name="MovedTo">Where the folder moved them; null when nothing was moved (or the store deletes them).</param>
public sealed record LeftoverReport(int Originals, int Renders, string? MovedTo);
