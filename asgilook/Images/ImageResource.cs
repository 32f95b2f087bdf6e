using Asgilook.Storage;
using Asgilook.Thumbnails;

namespace Asgilook.Images;

/// <summary>An image as the API shows it: the tutorial's <c>Image.serialize()</c>.</summary>
public sealed record ImageResource(string Id, string Image, string Modified, int[] Size, string[] Thumbnails)
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
