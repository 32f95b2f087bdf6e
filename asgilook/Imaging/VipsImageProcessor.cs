using NetVips;

namespace Asgilook.Imaging;

/// <summary>
/// The one class that calls libvips (through NetVips). Swap the engine by implementing
/// <see cref="IImageProcessor"/> elsewhere.
/// </summary>
public sealed class VipsImageProcessor : IImageProcessor
{
    private const int JpegQuality = 85;
    private static readonly double[] White = [255, 255, 255];

    static VipsImageProcessor()
    {
        // Every request works on a different image, so libvips' operation cache would only
        // hold memory (and pin buffers) without ever being hit.
        Cache.Max = 0;
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
        using var loaded = Open(data, format);
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

    public byte[] Thumbnail(byte[] jpeg, int width, int height)
    {
        // ThumbnailBuffer decodes with shrink-on-load; Force gives exactly width × height
        // (the mipmap sizes are floor-halved, so the aspect ratio may differ by under a pixel).
        using var thumbnail = Image.ThumbnailBuffer(jpeg, width, height: height, size: Enums.Size.Force);
        return thumbnail.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
    }

    private static Image Open(byte[] data, ImageFormats.Format? format)
    {
        try
        {
            // fail-on "warning" (sharp's default too) refuses a truncated or corrupt file instead of
            // decoding it half grey: at "error", libjpeg's "corrupt data" warnings would pass.
            return Image.NewFromBuffer(data, failOn: Enums.FailOn.Warning);
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
