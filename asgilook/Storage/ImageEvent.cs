using Asgilook.Imaging;

namespace Asgilook.Storage;

/// <summary>
/// Something that happened to a stored image, as a fact: which image, and what changed. Whoever needs another shape
/// of it (the cache, the tags to evict; a page, the image's JSON) builds that shape from the fact.
/// </summary>
public abstract record ImageEvent(Guid ImageId);

/// <summary>An upload was stored: the image's id and what a page shows of it (its size, its time and its placeholder).</summary>
/// <param name="Frames">An animated image's frames; null for a still.</param>
public sealed record ImageUploaded(Guid ImageId, int Width, int Height, DateTimeOffset Modified, Placeholder? Placeholder, int? Frames = null) : ImageEvent(ImageId)
{
    public static ImageUploaded Of(StoredImage image) => new(image.Id, image.Width, image.Height, image.Modified, image.Placeholder, image.Frames);
}

/// <summary>An image was deleted: it, its thumbnails and its place in the list are gone.</summary>
public sealed record ImageDeleted(Guid ImageId) : ImageEvent(ImageId);

/// <summary>What the list shows of an image changed (it was given its placeholder): its bytes and thumbnails did not.</summary>
public sealed record ImageChanged(Guid ImageId) : ImageEvent(ImageId);

/// <summary>Where the store tells what happened; done (here) when the call returns, so the client then sees its effects.</summary>
public interface IImageEventPublisher
{
    Task PublishAsync(ImageEvent item);
}

/// <summary>
/// Told of this instance's image events before the request that made them is answered, so that what it does (the cache
/// evicting what became stale) is done by the time the client hears back.
/// </summary>
public interface IImageEventHandler
{
    Task HandleAsync(ImageEvent item);

    /// <summary>Told of another instance's event, as it arrives (what that instance's handlers did is done already).</summary>
    void Received(ImageEvent item)
    {
    }
}
