using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// What is known of an upload before any decoder sees it, from its bytes alone and by managed code: its
/// format, the size its header declares, and the header checks that refuse it early. The server runs
/// this to count the upload's work and refuse at once what no worker needs to see; the engines run it
/// again in the worker, so no decode starts without it.
/// </summary>
/// <param name="Declared">The size the header declares; null when it is not read here.</param>
public sealed record UploadHeader(Format Format, (long Width, long Height)? Declared)
{
    /// <summary>The pixels the upload declares, or <paramref name="unknown"/> when its header does not say here.</summary>
    public long PixelsOr(long unknown) => Declared is var (width, height) ? width * height : unknown;

    /// <exception cref="RejectedImageException">Not an image the engine reads, more pixels than allowed, or a header refused before decoding.</exception>
    public static UploadHeader Inspect(byte[] data, IReadOnlyCollection<ImageLoader> reads, string engine, long maxPixels)
    {
        var format = DecodeBudget.Recognise(data, reads, engine);
        var declared = DeclaredSize.Of(format, data);
        if (declared is var (width, height))
        {
            DecodeBudget.CheckPixels(width, height, maxPixels);
        }

        if (format.Loader is ImageLoader.Bmp && FileStructure.BmpProblem(data) is { } bmp)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The BMP is corrupt: {bmp}.");
        }

        if (format.Loader is ImageLoader.Svg && SvgPolicy.Problem(data) is { } svg)
        {
            throw new RejectedImageException(
                Rejection.UnsupportedFormat, $"An SVG is taken without pictures or references in it; this one is refused because {svg}.");
        }

        return new UploadHeader(format, declared);
    }
}
