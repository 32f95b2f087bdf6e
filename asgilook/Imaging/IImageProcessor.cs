namespace Asgilook.Imaging;

/// <summary>A JPEG converted from an upload, with its pixel size.</summary>
public sealed record ConvertedImage(byte[] Jpeg, int Width, int Height);

/// <summary>A rendered thumbnail and where its time went (shown in Server-Timing).</summary>
/// <param name="Resize">Decoding (with shrink-on-load) and resizing.</param>
/// <param name="Encode">Encoding the JPEG.</param>
public sealed record RenderedThumbnail(byte[] Jpeg, TimeSpan Resize, TimeSpan Encode)
{
    /// <summary>Waiting for an image worker, set by the store that queued the work.</summary>
    public TimeSpan Queue { get; init; }
}

/// <summary>
/// The image engine: everything Asgilook asks of pixels. Both methods are CPU-bound and
/// synchronous; callers run them off the request path.
/// </summary>
public interface IImageProcessor
{
    /// <summary>
    /// The engine and its encoding settings, e.g. <c>vips-8.18.7-q85</c>: part of every thumbnail's
    /// ETag, since the same source renders to the same bytes only with the same engine.
    /// </summary>
    string Version { get; }

    /// <summary>The formats this engine decodes; every other recognised format is refused with a 415.</summary>
    IReadOnlyCollection<ImageFormats.ImageLoader> Reads { get; }

    /// <summary>
    /// Decodes any supported format and re-encodes it as an upright 8-bit sRGB JPEG without metadata.
    /// The header is checked against <paramref name="maxPixels"/> before any pixel is decoded.
    /// </summary>
    /// <exception cref="RejectedImageException">The bytes are not an image Asgilook takes.</exception>
    ConvertedImage ConvertToJpeg(byte[] data, long maxPixels);

    /// <summary>Scales a stored JPEG to exactly <paramref name="width"/> × <paramref name="height"/>.</summary>
    RenderedThumbnail Thumbnail(byte[] jpeg, int width, int height);
}
