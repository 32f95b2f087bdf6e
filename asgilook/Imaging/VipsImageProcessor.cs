using System.Diagnostics;
using Asgilook.Configuration;
using Microsoft.Extensions.Options;
using NetVips;

namespace Asgilook.Imaging;

/// <summary>
/// The one class that calls libvips (through NetVips). Swap the engine by implementing
/// <see cref="IImageProcessor"/> elsewhere.
/// </summary>
public sealed class VipsImageProcessor : IImageProcessor
{
    public VipsImageProcessor(IOptions<AsgilookOptions> options)
    {
        if (options.Value.VipsThreads > 0)
        {
            NetVips.NetVips.Concurrency = options.Value.VipsThreads;
        }
    }

    public string Version { get; } = $"vips-{NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)}-q{JpegQuality}";

    private const int JpegQuality = 85;
    private static readonly double[] White = [255, 255, 255];

    static VipsImageProcessor()
    {
        // Every request works on a different image, so libvips' operation and file caches would
        // only hold memory (and pin buffers) without ever being hit: memory stays flat without them.
        Cache.Max = 0;
        Cache.MaxFiles = 0;
        Cache.MaxMem = 0;
    }

    public ConvertedImage ConvertToJpeg(byte[] data, long maxPixels)
    {
        var format = ImageFormats.Sniff(data);
        if (format is { Supported: false })
        {
            throw new RejectedImageException(
                Rejection.UnsupportedFormat,
                $"The body is a {format.Name} image; Asgilook reads {ImageFormats.SupportedNames}.");
        }

        // Opening reads the header only: libvips decodes pixels when they are first asked for.
        // Sequential access streams the decode through the pipeline, so a 24 MP photo never sits
        // whole in memory; only a rotation (EXIF orientation 5 to 8, or a flip) needs random access.
        using var loaded = Open(data, format, Enums.Access.Sequential) is var sequential && NeedsRandomAccess(sequential)
            ? Reopen(sequential, data, format)
            : sequential;
        if ((long)loaded.Width * loaded.Height > maxPixels)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels,
                $"The image declares {loaded.Width}x{loaded.Height} pixels, more than the {maxPixels:N0} allowed.");
        }

        try
        {
            using var upright = loaded.Autorot();
            using var srgb = ToSrgb(upright);
            using var flat = srgb.HasAlpha() ? srgb.Flatten(background: White) : srgb.Copy();
            using var eightBit = flat.Format == Enums.BandFormat.Uchar ? flat.Copy() : flat.Cast(Enums.BandFormat.Uchar);
            var jpeg = eightBit.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
            return new ConvertedImage(jpeg, eightBit.Width, eightBit.Height);
        }
        catch (VipsException e)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The {format?.Name ?? "image"} is truncated or corrupt.", e);
        }
    }

    // snippet: thumbnail
    public RenderedThumbnail Thumbnail(byte[] jpeg, int width, int height)
    {
        // ThumbnailBuffer decodes with shrink-on-load; Force gives exactly width × height
        // (the mipmap sizes are floor-halved, so the aspect ratio may differ by under a pixel).
        // libvips is lazy: CopyMemory makes the (small) thumbnail's pixels now, to time encoding apart.
        var clock = Stopwatch.StartNew();
        using var lazy = Image.ThumbnailBuffer(jpeg, width, height: height, size: Enums.Size.Force);
        using var pixels = lazy.CopyMemory();
        var resize = clock.Elapsed;
        var encoded = pixels.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
        return new RenderedThumbnail(encoded, resize, clock.Elapsed - resize);
    }
    // end snippet

    private static bool NeedsRandomAccess(Image image) =>
        image.Contains("orientation") && image.Get("orientation") is int orientation && orientation is not (0 or 1);

    private static Image Reopen(Image sequential, byte[] data, ImageFormats.Format? format)
    {
        sequential.Dispose();
        return Open(data, format, Enums.Access.Random);
    }

    private static Image Open(byte[] data, ImageFormats.Format? format, Enums.Access access)
    {
        try
        {
            // fail-on "warning" (sharp's default too) refuses a truncated or corrupt file instead of
            // decoding it half grey: at "error", libjpeg's "corrupt data" warnings would pass.
            return Image.NewFromBuffer(data, access: access, failOn: Enums.FailOn.Warning);
        }
        catch (VipsException e)
        {
            var detail = format is not null
                ? $"The {format.Name} is truncated or corrupt: its header cannot be read."
                : ImageFormats.LooksLikeText(data)
                    ? $"The body is text, not an image; send the bytes of an image ({ImageFormats.SupportedNames})."
                    : $"The body is not an image in a format Asgilook reads ({ImageFormats.SupportedNames}).";
            throw new RejectedImageException(Rejection.Unreadable, detail, e);
        }
    }

    private static Image ToSrgb(Image image)
    {
        if (image.Contains("icc-profile-data"))
        {
            return image.IccTransform("srgb", embedded: true, intent: Enums.Intent.Perceptual);
        }

        return image.Interpretation == Enums.Interpretation.Srgb ? image.Copy() : image.Colourspace(Enums.Interpretation.Srgb);
    }
}
