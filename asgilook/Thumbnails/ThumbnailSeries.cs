namespace Asgilook.Thumbnails;

/// <summary>
/// The mipmap series of thumbnail sizes an image advertises: each about half the previous,
/// while both sides stay at or above the minimum. Only these sizes are ever generated,
/// which guards the service against being asked to render arbitrary sizes.
/// </summary>
public static class ThumbnailSeries
{
    // snippet: mipmap
    public static IEnumerable<(int Width, int Height)> Sizes(int width, int height, int minSize)
    {
        for (var factor = 2; width / factor >= minSize && height / factor >= minSize; factor *= 2)
        {
            yield return (width / factor, height / factor);
        }
    }
    // end snippet

    public static bool Contains(int width, int height, int minSize, (int Width, int Height) size) =>
        Sizes(width, height, minSize).Contains(size);

    public static string Uri(Guid imageId, int width, int height) => $"/thumbnails/{imageId}/{width}x{height}.jpeg";

    /// <summary>The URIs of an image's thumbnails, largest first: what it lists, and all a delete must invalidate.</summary>
    public static IEnumerable<string> Uris(Storage.StoredImage image, int minSize) => Uris(image.Id, image.Width, image.Height, minSize);

    public static IEnumerable<string> Uris(Guid id, int width, int height, int minSize) =>
        Sizes(width, height, minSize).Select(size => Uri(id, size.Width, size.Height));

    /// <summary>
    /// A strong ETag from what determines the thumbnail's bytes: the stored image's hash, the size and
    /// the engine. The same on every instance and after every restart, and known before rendering.
    /// </summary>
    public static string ETag(Storage.StoredImage image, int width, int height, string engine) =>
        $"\"{image.Sha256[..24]}-{width}x{height}-{engine}\"";
}
