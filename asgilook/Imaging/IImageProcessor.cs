namespace Asgilook.Imaging;

/// <summary>A JPEG converted from an upload, with its pixel size.</summary>
public sealed record ConvertedImage(byte[] Jpeg, int Width, int Height);

/// <summary>
/// The image engine: everything Asgilook asks of pixels. Both methods are CPU-bound and
/// synchronous; callers run them off the request path.
/// </summary>
public interface IImageProcessor
{
    /// <summary>
    /// Decodes any supported format and re-encodes it as an upright 8-bit sRGB JPEG without metadata.
    /// The header is checked against <paramref name="maxPixels"/> before any pixel is decoded.
    /// </summary>
    /// <exception cref="RejectedImageException">The bytes are not an image Asgilook takes.</exception>
    ConvertedImage ConvertToJpeg(byte[] data, long maxPixels);

    /// <summary>Scales a stored JPEG to exactly <paramref name="width"/> × <paramref name="height"/>.</summary>
    byte[] Thumbnail(byte[] jpeg, int width, int height);
}
