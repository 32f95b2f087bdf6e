using System.Text.Json.Serialization;
using Asgilook.Storage;
using Asgilook.Thumbnails;

namespace Asgilook.Images;

/// <summary>An image as the API shows it: the tutorial's <c>Image.serialize()</c>.</summary>
public record ImageResource(string Id, string Image, string Modified, int[] Size, string[] Thumbnails)
{
    /// <summary>The collection's URI, whose cached copy every upload and delete invalidates.</summary>
    public const string ListUri = "/images";

    public static ImageResource From(StoredImage image, int minThumbSize) => new(
        image.Id.ToString(),
        image.Uri,
        image.Modified.ToString("R"),
        [image.Width, image.Height],
        [.. ThumbnailSeries.Uris(image, minThumbSize)]);
}

/// <summary>The answer to an upload: the image, and the one time its delete token is ever shown.</summary>
public sealed record UploadedImage(string Id, string Image, string Modified, int[] Size, string[] Thumbnails, [property: JsonPropertyName("delete_token"), JsonPropertyOrder(1)] string DeleteToken)
    : ImageResource(Id, Image, Modified, Size, Thumbnails)
{
    public UploadedImage(ImageResource image, string deleteToken)
        : this(image.Id, image.Image, image.Modified, image.Size, image.Thumbnails, deleteToken)
    {
    }

    /// <summary>Never the token, should the record be logged.</summary>
    public override string ToString() => $"UploadedImage {{ Id = {Id} }}";
}
