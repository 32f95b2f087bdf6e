namespace Asgilook.Imaging;

/// <summary>A JPEG converted from an upload, with its pixel size.</summary>
/// <param name="Animation">For an animated GIF or WebP, all its frames (the JPEG is the first); null for a still.</param>
public sealed record ConvertedImage(byte[] Jpeg, int Width, int Height, Animation? Animation = null);

/// <summary>
/// An upload's animation, kept beside its JPEG to render animated thumbnails from: every frame, upright sRGB, at half
/// the image's size (the largest thumbnail listed), as an animated WebP with the upload's frame delays and loop count.
/// </summary>
public sealed record Animation(byte[] Webp, int Frames);

/// <summary>What a page paints before an image's thumbnail arrives.</summary>
/// <param name="Preview">A tiny blurred WebP of the image, as a <c>data:</c> URI of a few hundred characters.</param>
/// <param name="Colour">Its average colour, <c>#rrggbb</c>.</param>
public sealed record Placeholder(string Preview, string Colour);

/// <summary>A rendered thumbnail and where its time went (shown in Server-Timing).</summary>
/// <param name="Bytes">The encoded thumbnail, in the format asked for.</param>
/// <param name="Resize">Decoding (with shrink-on-load) and resizing.</param>
/// <param name="Encode">Encoding it.</param>
public sealed record RenderedThumbnail(byte[] Bytes, TimeSpan Resize, TimeSpan Encode)
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

    /// <summary>The engine's name as a refusal names it (<c>Vips</c>, <c>ImageSharp</c>).</summary>
    string Name { get; }

    /// <summary>The formats this engine decodes; every other recognised format is refused with a 415.</summary>
    IReadOnlyCollection<ImageFormats.ImageLoader> Reads { get; }

    /// <summary>
    /// Decodes any supported format and re-encodes it as an upright 8-bit sRGB JPEG without metadata.
    /// The header is checked against <paramref name="maxPixels"/> before any pixel is decoded.
    /// </summary>
    /// <exception cref="RejectedImageException">The bytes are not an image Asgilook takes.</exception>
    ConvertedImage ConvertToJpeg(byte[] data, long maxPixels);

    /// <summary>The placeholder of a stored JPEG: a preview fitting <see cref="Placeholders.Side"/> pixels, blurred, and its average colour.</summary>
    Placeholder MakePlaceholder(byte[] jpeg);

    /// <summary>The formats this engine renders thumbnails in (JPEG always).</summary>
    IReadOnlyCollection<ThumbnailFormat> ThumbnailFormats { get; }

    /// <summary>
    /// The engine's settings for one thumbnail format, part of that format's ETags (e.g. <c>webp-q85-e2</c>);
    /// empty for JPEG, whose settings <see cref="Version"/> names.
    /// </summary>
    string EncoderOf(ThumbnailFormat format);

    /// <summary>Whether this engine keeps animations (<see cref="ConvertedImage.Animation"/>) and renders them.</summary>
    bool Animates { get; }

    /// <summary>
    /// Scales every frame of a kept animation to exactly <paramref name="width"/> × <paramref name="height"/>, as an
    /// animated WebP with the same delays and loop count.
    /// </summary>
    RenderedThumbnail AnimatedThumbnail(byte[] animation, int width, int height);

    /// <summary>Scales a stored JPEG to exactly <paramref name="width"/> × <paramref name="height"/>, encoded as <paramref name="format"/>.</summary>
    RenderedThumbnail Thumbnail(byte[] jpeg, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg);
}
