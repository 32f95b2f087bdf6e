using Asgilook.Events;
using Asgilook.Images;

namespace Asgilook.Caching;

/// <summary>
/// What an image event makes stale: an upload, the list; a delete, the list, the image and its
/// thumbnails. The cache is shared by every instance on the same Redis, so this reaches them all.
/// </summary>
internal sealed class CacheInvalidation(ResponseCache cache) : IImageEventHandler
{
    public Task HandleAsync(ImageEvent item) => item is ImageDeleted { Image: var image }
        ? cache.InvalidateAsync([ImageResource.ListUri, image.Image, .. image.Thumbnails])
        : cache.InvalidateAsync(ImageResource.ListUri);
}
