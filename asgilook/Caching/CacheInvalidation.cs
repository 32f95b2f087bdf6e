using Asgilook.Events;
using Asgilook.Images;
using Asgilook.Thumbnails;

namespace Asgilook.Caching;

/// <summary>
/// What an image event makes stale: an upload, the list; a delete, the list, the image and its
/// thumbnails in every format. The cache is shared by every instance on the same Redis, so this reaches
/// them all; another instance's event drops only what this instance keeps in its own memory tier.
/// </summary>
internal sealed class CacheInvalidation(ResponseCache cache) : IImageEventHandler
{
    public Task HandleAsync(ImageEvent item) => item is ImageDeleted { Image: var image }
        ? cache.InvalidateDeletedAsync(image.Id, [ImageResource.ListUri, image.Image, .. image.Thumbnails.SelectMany(ThumbnailSeries.InEveryFormat)])
        : cache.InvalidateAsync(ImageResource.ListUri);

    public void Received(ImageEvent item)
    {
        cache.ForgetHot(ImageResource.ListUri);
        if (item is ImageDeleted { Image: var image })
        {
            // Every size and format, whatever the announcement lists: a deleted image keeps nothing here.
            cache.ForgetImage(image.Id);
        }
    }
}
