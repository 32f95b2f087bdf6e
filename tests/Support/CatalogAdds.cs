using Asgilook.Quotas;
using Asgilook.Storage;

namespace Asgilook.Tests;

/// <summary>The catalog tests' way to add a row as the store does once its bytes are written, with no quota.</summary>
public static class CatalogAdds
{
    public static Task<AddOutcome> AddAsync(this IImageCatalog catalog, StoredImage image, CancellationToken cancellationToken) =>
        catalog.AddAsync(image, Quota.None, bytesWritten: true, cancellationToken);
}
