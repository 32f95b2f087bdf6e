using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// What one upload may cost to decode, judged from its header before a pixel is decoded. Both engines
/// and the fallback decoder refuse through here, so a refusal reads the same whichever one judged it.
/// </summary>
public sealed class DecodeBudget(long maxDecodeBytes)
{
    private const long Mebibyte = 1024 * 1024;

    public long MaxDecodeBytes { get; } = maxDecodeBytes;

    /// <summary>The bytes were recognised as <paramref name="format"/>; refuses what the engine does not read.</summary>
    /// <param name="reads">The formats the engine reads.</param>
    /// <param name="engine">The engine's name, for a format Asgilook's other engine reads.</param>
    public static Format Recognise(byte[] data, IReadOnlyCollection<ImageLoader> reads, string engine)
    {
        var names = NamesOf(reads);
        var format = Sniff(data) ?? throw new RejectedImageException(Rejection.Unreadable, LooksLikeText(data)
            ? $"The body is text, not an image; send the bytes of an image ({names})."
            : $"The body is not an image in a format Asgilook reads ({names}).");
        if (!format.Supported)
        {
            throw new RejectedImageException(Rejection.UnsupportedFormat, $"The body is a {format.Name} file; Asgilook reads {names}.");
        }

        if (!reads.Contains(format.Loader))
        {
            throw new RejectedImageException(
                Rejection.UnsupportedFormat,
                $"The body is a {format.Name} image, which the {engine} engine this server runs does not read " +
                $"(the default engine, Vips, does); it reads {names}.");
        }

        return format;
    }

    public static void CheckPixels(long width, long height, long maxPixels)
    {
        if (width * height > maxPixels)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels, $"The image declares {width}x{height} pixels, more than the {maxPixels:N0} allowed.");
        }
    }

    /// <summary>Refuses an animation of more frames than allowed, or whose frames together have more pixels than allowed.</summary>
    public static void CheckFrames(Format format, int frames, long width, long height, int maxFrames, long maxPixels)
    {
        if (frames > maxFrames)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels, $"The {format.Name} has {frames:N0} frames, more than the {maxFrames:N0} an animation may have (MaxFrames).");
        }

        if (frames * width * height > maxPixels)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels,
                $"The {format.Name} has {frames:N0} frames of {width}x{height} pixels, {frames * width * height:N0} in all, more than the {maxPixels:N0} allowed.");
        }
    }

    /// <param name="layout">How the decode holds each pixel, e.g. <c>3 band(s) of 8 bits</c>.</param>
    public void CheckBytes(Format format, long width, long height, string layout, long bytes)
    {
        if (bytes > MaxDecodeBytes)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels,
                $"The {format.Name} ({width}x{height}, {layout}) needs {(bytes + Mebibyte - 1) / Mebibyte:N0} MiB to decode, " +
                $"more than the {MaxDecodeBytes / Mebibyte:N0} MiB one image may take.");
        }
    }
}
