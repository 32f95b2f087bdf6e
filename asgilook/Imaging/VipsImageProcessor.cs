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

    public ConvertedImage ConvertToJpeg(byte[] data)
    {
        Image loaded;
        try
        {
            // fail-on "error": a truncated or corrupt file is refused instead of decoded half-grey.
            loaded = Image.NewFromBuffer(data, failOn: Enums.FailOn.Error);
        }
        catch (VipsException e)
        {
            throw new UnreadableImageException("The body is not an image in a format Asgilook can read.", e);
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
            throw new UnreadableImageException("The image could not be decoded: it is truncated or corrupt.", e);
        }
        finally
        {
            loaded.Dispose();
        }
    }

    public byte[] Thumbnail(byte[] jpeg, int width, int height)
    {
        // ThumbnailBuffer decodes with shrink-on-load; Force gives exactly width × height
        // (the mipmap sizes are floor-halved, so the aspect ratio may differ by under a pixel).
        using var thumbnail = Image.ThumbnailBuffer(jpeg, width, height: height, size: Enums.Size.Force);
        return thumbnail.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
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
