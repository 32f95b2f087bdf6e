using Asgilook.Images;

namespace Asgilook.Events;

/// <summary>Something that happened to an image, as the API shows it.</summary>
/// <param name="Type">The Server-Sent Events name: <c>image</c> or <c>deleted</c>.</param>
public abstract record ImageEvent(string Type, ImageResource Image);

/// <summary>An upload was stored; <c>GET /events</c> sends the image's JSON.</summary>
public sealed record ImageUploaded(ImageResource Image) : ImageEvent(Name, Image)
{
    public const string Name = "image";
}

/// <summary>An image was deleted; <c>GET /events</c> sends <c>{"id": ...}</c>.</summary>
public sealed record ImageDeleted(ImageResource Image) : ImageEvent(Name, Image)
{
    public const string Name = "deleted";
}

/// <summary>
/// Told of this instance's uploads and deletes before the request that made them is answered, so that
/// what it does (the cache dropping what became stale) is done by the time the client hears back.
/// </summary>
public interface IImageEventHandler
{
    Task HandleAsync(ImageEvent item);

    /// <summary>Told of another instance's upload or delete, as it arrives (what that instance's handlers did is done already).</summary>
    void Received(ImageEvent item)
    {
    }
}
