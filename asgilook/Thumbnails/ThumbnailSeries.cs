using Asgilook.Imaging;

namespace Asgilook.Thumbnails;

/// <summary>The bounds of the series: the smallest side a thumbnail may have, and the most pixels.</summary>
/// <param name="MinSize">The tutorial's minimum: both sides stay at or above it (<c>MinThumbSize</c>).</param>
/// <param name="MaxPixels">Sizes with more pixels are left out (<c>MaxThumbnailPixels</c>): a huge upload's first halves are not offered.</param>
public readonly record struct ThumbnailLadder(int MinSize, long MaxPixels)
{
    public static ThumbnailLadder Of(Configuration.AsgilookOptions settings) => new(settings.MinThumbSize, settings.MaxThumbnailPixels);
}

/// <summary>
/// The mipmap series of thumbnail sizes an image advertises: each about half the previous,
/// while both sides stay at or above the minimum, and none larger than the ladder's most pixels.
/// Only these sizes are ever generated, which guards the service against being asked to render arbitrary sizes.
/// </summary>
public static class ThumbnailSeries
{
    // snippet: mipmap
    public static IEnumerable<(int Width, int Height)> Sizes(int width, int height, ThumbnailLadder ladder)
    {
        for (var factor = 2; width / factor >= ladder.MinSize && height / factor >= ladder.MinSize; factor *= 2)
        {
            if ((long)(width / factor) * (height / factor) <= ladder.MaxPixels)
            {
                yield return (width / factor, height / factor);
            }
        }
    }
    // end snippet

    public static bool Contains(int width, int height, ThumbnailLadder ladder, (int Width, int Height) size) =>
        Sizes(width, height, ladder).Contains(size);

    public static string Uri(Guid imageId, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg) =>
        $"{FolderOf(imageId.ToString())}{width}x{height}.{format.Extension()}";

    /// <summary>The start every thumbnail URI of the image shares.</summary>
    public static string FolderOf(string imageId) => $"/thumbnails/{imageId}/";

    /// <summary>
    /// Where a page finds each format: the media type, then every size largest first, in the order
    /// <paramref name="formats"/> gives (the smallest for the same look first), JPEG always among them.
    /// </summary>
    public static IReadOnlyDictionary<string, ThumbnailSource[]> Sources(Guid id, int width, int height, ThumbnailLadder ladder, IEnumerable<ThumbnailFormat> formats)
    {
        var sizes = Sizes(width, height, ladder).ToArray();
        return formats.ToDictionary(
            format => format.MediaType(),
            format => sizes.Select(size => new ThumbnailSource(Uri(id, size.Width, size.Height, format), size.Width, size.Height)).ToArray());
    }

    /// <summary>A JPEG thumbnail's URI in every format any engine renders: what a delete must invalidate.</summary>
    public static IEnumerable<string> InEveryFormat(string jpegUri) =>
        ThumbnailFormats.All.Select(format => System.IO.Path.ChangeExtension(jpegUri, format.Extension()));

    /// <summary>The URIs of an image's thumbnails, largest first: what it lists, and all a delete must invalidate.</summary>
    public static IEnumerable<string> Uris(Storage.StoredImage image, ThumbnailLadder ladder) => Uris(image.Id, image.Width, image.Height, ladder);

    public static IEnumerable<string> Uris(Guid id, int width, int height, ThumbnailLadder ladder) =>
        Sizes(width, height, ladder).Select(size => Uri(id, size.Width, size.Height));

    /// <summary>
    /// A strong ETag from what determines the thumbnail's bytes: the stored image's hash, the size and
    /// the engine. The same on every instance and after every restart, and known before rendering.
    /// </summary>
    /// <param name="encoder">The format's encoder settings; empty for JPEG, whose ETags stay as they were.</param>
    public static string ETag(Storage.StoredImage image, int width, int height, string engine, string encoder = "") =>
        encoder.Length == 0 ? $"\"{image.Sha256[..24]}-{width}x{height}-{engine}\"" : $"\"{image.Sha256[..24]}-{width}x{height}-{engine}-{encoder}\"";
}

/// <summary>One size of a thumbnail in one format, as a page's <c>srcset</c> takes it.</summary>
public sealed record ThumbnailSource(string Uri, int Width, int Height);
