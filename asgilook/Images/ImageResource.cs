using System.Text.Json.Serialization;
using Asgilook.Imaging;
using Asgilook.Storage;
using Asgilook.Thumbnails;

namespace Asgilook.Images;

/// <summary>
/// An image as the API shows it: the tutorial's <c>Image.serialize()</c>, and <c>sources</c>: its thumbnails in
/// every format this server renders (AVIF, WebP, JPEG), by media type, each size largest first with its width,
/// as a page's <c>&lt;picture&gt;</c> and <c>srcset</c> take them.
/// </summary>
public record ImageResource(string Id, string Image, string Modified, int[] Size, string[] Thumbnails)
{
    [JsonPropertyOrder(1)]
    public IReadOnlyDictionary<string, ThumbnailSource[]>? Sources { get; init; }

    /// <summary>A tiny blurred preview (<c>data:</c> URI) and the average colour, to paint before a thumbnail arrives; null until made.</summary>
    [JsonPropertyOrder(1)]
    public Placeholder? Placeholder { get; init; }

    /// <summary>True for an animated GIF or WebP (its WebP thumbnails are animated; the stored JPEG is its first frame); absent for a still.</summary>
    [JsonPropertyOrder(1)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Animated { get; init; }

    /// <summary>How many frames an animated image has; absent for a still.</summary>
    [JsonPropertyOrder(1)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Frames { get; init; }

    public static ImageResource From(
        Guid id, DateTimeOffset modified, int width, int height, ThumbnailLadder ladder, IEnumerable<ThumbnailFormat> formats, Placeholder? placeholder,
        int? frames = null) => new(
        id.ToString(),
        StoredImage.UriOf(id),
        modified.ToString("R"),
        [width, height],
        [.. ThumbnailSeries.Uris(id, width, height, ladder)])
    {
        Sources = ThumbnailSeries.Sources(id, width, height, ladder, formats),
        Placeholder = placeholder,
        Animated = frames > 1 ? true : null,
        Frames = frames > 1 ? frames : null,
    };
}

/// <summary>The answer to an upload: the image, and the one time its delete token is ever shown.</summary>
public sealed record UploadedImage(string Id, string Image, string Modified, int[] Size, string[] Thumbnails, [property: JsonPropertyName("delete_token"), JsonPropertyOrder(1)] string DeleteToken)
    : ImageResource(Id, Image, Modified, Size, Thumbnails)
{
    public UploadedImage(ImageResource image, string deleteToken)
        : this(image.Id, image.Image, image.Modified, image.Size, image.Thumbnails, deleteToken)
    {
        Sources = image.Sources;
        Placeholder = image.Placeholder;
        Animated = image.Animated;
        Frames = image.Frames;
    }

    /// <summary>Never the token, should the record be logged.</summary>
    public override string ToString() => $"UploadedImage {{ Id = {Id} }}";
}
