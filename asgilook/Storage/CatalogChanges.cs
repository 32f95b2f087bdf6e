namespace Asgilook.Storage;

/// <summary>What <see cref="IImageCatalog.AddAsync(StoredImage, Quotas.Quota, bool, CancellationToken)"/> did.</summary>
public enum AddResult
{
    /// <summary>The row is added, naming <see cref="AddOutcome.Blob"/> as its bytes.</summary>
    Added,

    /// <summary>Nothing was added: it would take its key past the quota (<see cref="AddOutcome.Usage"/>).</summary>
    PastQuota,

    /// <summary>Nothing was added: no image holds this content, so its bytes must be written first.</summary>
    NeedsBytes,
}

/// <param name="Blob">The bytes the added row names: the image's own, or those of an image with the same content.</param>
/// <param name="Usage">The key's usage that refused it, for <see cref="AddResult.PastQuota"/>.</param>
public readonly record struct AddOutcome(AddResult Result, Guid Blob = default, Quotas.KeyUsage? Usage = null);

/// <summary>A removed row, and whether its bytes are used by no image any more (then they go).</summary>
public sealed record RemovedRow(Guid Blob, bool BlobUnused);
