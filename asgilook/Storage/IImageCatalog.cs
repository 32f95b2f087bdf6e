namespace Asgilook.Storage;

/// <summary>
/// The image metadata: the rows that say which images exist. SQLite is the embedded default;
/// a server-grade database can implement this without touching the files or the resources.
/// </summary>
public interface IImageCatalog
{
    /// <summary>Which database, for logs and the readiness check (never a password).</summary>
    string Description { get; }

    /// <summary>Creates or migrates the schema; safe to run from several processes at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Adds the image's row, as one step under the locks of its owner's key and of its content (so that any number of
    /// instances count one key's uploads, and store one content's bytes, one after the other): refused when it would take
    /// the key past <paramref name="quota"/>; naming the bytes of an image with the same <see cref="StoredImage.Sha256"/>
    /// when one is listed; otherwise naming its own bytes, when <paramref name="bytesWritten"/>, or refused as needing them.
    /// </summary>
    Task<AddOutcome> AddAsync(StoredImage image, Quotas.Quota quota, bool bytesWritten, CancellationToken cancellationToken);

    /// <summary>What the key (by its id) stores now.</summary>
    Task<Quotas.KeyUsage> UsageAsync(string ownerKeyId, CancellationToken cancellationToken);

    Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Images in upload order (or newest first), after the image <paramref name="after"/> (from the start when null),
    /// at most <paramref name="limit"/> (all when null). Null when <paramref name="after"/> is unknown.
    /// </summary>
    Task<ImagePage?> ListAsync(Guid? after, int? limit, ListOrder order, CancellationToken cancellationToken);

    /// <summary>Removes the row, and tells whether its bytes are used by no other image; null when there was none.</summary>
    Task<RemovedRow?> DeleteAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>The listed images whose stored JPEG has this SHA-256.</summary>
    Task<IReadOnlyList<Guid>> ImagesWithContentAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Every listed image, by the bytes it uses (<see cref="StoredImage.Blob"/>).</summary>
    Task<ILookup<Guid, Guid>> ImagesByBlobAsync(CancellationToken cancellationToken);

    /// <summary>The identity of the storage folder this catalog lists; null until one is claimed.</summary>
    Task<string?> GetStorageIdAsync(CancellationToken cancellationToken);

    /// <summary>Records <paramref name="storageId"/> unless another is recorded already; answers the one recorded.</summary>
    Task<string> ClaimStorageIdAsync(string storageId, CancellationToken cancellationToken);

    /// <summary>Blocks content: a later upload converting to a JPEG of this SHA-256 is refused. Blocking it twice keeps the first.</summary>
    Task BlockAsync(string sha256, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Whether content of this SHA-256 (of the stored JPEG) was blocked.</summary>
    Task<bool> IsBlockedAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Checks that the database answers a query; throws when it does not.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>Records the placeholder of an image that had none (one stored before placeholders existed).</summary>
    Task SetPlaceholderAsync(Guid id, Imaging.Placeholder placeholder, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> images that have no placeholder yet, oldest first.</summary>
    Task<IReadOnlyList<Guid>> WithoutPlaceholderAsync(int limit, CancellationToken cancellationToken);
}
