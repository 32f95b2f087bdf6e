using Asgilook.Storage;

namespace Asgilook.Caching;

/// <summary>
/// Every eviction the image events call for, in one place, by tag: an upload or a change evicts the list
/// (<see cref="ResponseCache.ListTag"/>); a delete evicts the list and everything cached about the image
/// (<see cref="ResponseCache.ImageTag(Guid)"/>: its thumbnails in every size and format). The cache is shared by every
/// instance on the same Redis, so this reaches them all; another instance's event drops only what this instance keeps
/// in its own memory tier.
/// </summary>
internal sealed class CacheInvalidation(ResponseCache cache) : IImageEventHandler
{
    public Task HandleAsync(ImageEvent item) => item is ImageDeleted deleted
        ? cache.EvictDeletedAsync(deleted.ImageId)
        : cache.EvictAsync(ResponseCache.ListTag);

    public void Received(ImageEvent item) => cache.ForgetInMemory(
        item is ImageDeleted deleted ? [ResponseCache.ListTag, ResponseCache.ImageTag(deleted.ImageId)] : [ResponseCache.ListTag]);
}
