using System.Diagnostics;
using System.Reflection;
using Asgilook.Configuration;
using Microsoft.Extensions.Options;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// The second engine, on the design card's SixLabors.ImageSharp (2.1.13, the last Apache-2.0 release):
/// fully managed code, selected with <c>Asgilook:ImageEngine=ImageSharp</c>. It does what the libvips engine
/// does where ImageSharp 2.1 can, and refuses clearly where it cannot: it reads no HEIF, SVG, ICO, PSD,
/// JPEG XL or JPEG 2000, converts only matrix/TRC colour profiles (it has no colour management of its
/// own, see <see cref="IccMatrixProfile"/>), decodes images whole (no shrink-on-load), and cannot be told
/// to stop once it is resizing (a decode can: the deadline cancels it).
/// </summary>
public sealed class ImageSharpImageProcessor : IImageProcessor
{
    private const int JpegQuality = 85;
    private const int WebpQuality = 85;
    private const int WebpMethod = 2;

    private readonly ImageSharpDecoder _decoder;
    private readonly TimeSpan _timeout;
    private readonly WebpEncoder _webp = new() { Quality = WebpQuality, Method = (WebpEncodingMethod)WebpMethod, FileFormat = WebpFileFormatType.Lossy };
    private readonly JpegEncoder _encoder = new() { Quality = JpegQuality, ColorType = JpegColorType.YCbCrRatio420 };

    public ImageSharpImageProcessor(IOptions<AsgilookOptions> options)
    {
        var settings = options.Value;
        _decoder = new ImageSharpDecoder(settings, new DecodeBudget(settings.MaxDecodeMegabytes * 1024L * 1024L));
        _timeout = settings.ImageWorkTimeout;
    }

    public string Name => "ImageSharp";

    public IReadOnlyCollection<ImageLoader> Reads => ImageSharpDecoder.Formats;

    public string Version { get; } = $"imagesharp-{LibraryVersion()}-q{JpegQuality}";

    public ConvertedImage ConvertToJpeg(byte[] data, long maxPixels)
    {
        var format = UploadHeader.Inspect(data, Reads, Name, maxPixels).Format;
        var clock = Stopwatch.StartNew();
        using var decoded = _decoder.Decode(data, format, maxPixels, clock, copies: 0);
        try
        {
            var image = decoded.Image;
            ToSrgb(image, format, decoded.Profile);
            image.Mutate(x => x.AutoOrient().BackgroundColor(Color.White));
            StripMetadata(image.Metadata);
            image.Frames.RootFrame.Metadata.ExifProfile = null;
            _decoder.ThrowWhenPast(clock);
            using var jpeg = new MemoryStream();
            image.SaveAsJpeg(jpeg, _encoder);
            return new ConvertedImage(jpeg.ToArray(), image.Width, image.Height);
        }
        catch (Exception e) when (e is not RejectedImageException)
        {
            throw _decoder.Rejected(format, e);
        }
    }

    /// <summary>ImageSharp 2.1 has no shrink-on-load: the stored JPEG is decoded whole, then reduced.</summary>
    public Placeholder MakePlaceholder(byte[] jpeg)
    {
        using var image = new JpegDecoder().Decode<Rgb24>(_decoder.Configuration, new MemoryStream(jpeg, writable: false), CancellationToken.None);
        image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(Placeholders.Side, Placeholders.Side), Mode = ResizeMode.Max }));
        double red = 0, green = 0, blue = 0;
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                foreach (var pixel in rows.GetRowSpan(y))
                {
                    (red, green, blue) = (red + pixel.R, green + pixel.G, blue + pixel.B);
                }
            }
        });
        var count = (double)image.Width * image.Height;
        image.Mutate(x => x.GaussianBlur(Placeholders.PreviewBlur));
        using var webp = new MemoryStream();
        image.SaveAsWebp(webp, new WebpEncoder { Quality = Placeholders.PreviewQuality, FileFormat = WebpFileFormatType.Lossy });
        return new Placeholder(Placeholders.DataUri(webp.ToArray()), Placeholders.Colour(red / count, green / count, blue / count));
    }

    /// <summary>ImageSharp 2.1 has no AVIF encoder: JPEG and WebP.</summary>
    public IReadOnlyCollection<ThumbnailFormat> ThumbnailFormats { get; } = [ThumbnailFormat.Webp, ThumbnailFormat.Jpeg];

    public string EncoderOf(ThumbnailFormat format) => format == ThumbnailFormat.Webp ? $"webp-q{WebpQuality}-m{WebpMethod}" : "";

    /// <summary>Stills only: an animated GIF or WebP is stored as its first frame, as every other format is.</summary>
    public bool Animates => false;

    public RenderedThumbnail AnimatedThumbnail(byte[] animation, int width, int height) =>
        throw new NotSupportedException("The ImageSharp engine keeps no animations.");

    public RenderedThumbnail Thumbnail(byte[] jpeg, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg)
    {
        if (!ThumbnailFormats.Contains(format))
        {
            throw new NotSupportedException($"The ImageSharp engine renders no {format} thumbnails.");
        }

        // No shrink-on-load in ImageSharp 2.1: the whole stored JPEG is decoded, then resized.
        var clock = Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource(_timeout);
        Image<Rgb24> image;
        try
        {
            image = new JpegDecoder().Decode<Rgb24>(_decoder.Configuration, new MemoryStream(jpeg, writable: false), cancel.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new ImageWorkTimeoutException(_timeout, e);
        }

        using (image)
        {
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Stretch }));
            var resize = clock.Elapsed;
            if (resize > _timeout)
            {
                throw new ImageWorkTimeoutException(_timeout, new TimeoutException("finished past the deadline"));
            }

            using var encoded = new MemoryStream();
            if (format == ThumbnailFormat.Webp)
            {
                image.SaveAsWebp(encoded, _webp);
            }
            else
            {
                image.SaveAsJpeg(encoded, _encoder);
            }

            return new RenderedThumbnail(encoded.ToArray(), resize, clock.Elapsed - resize);
        }
    }

    private static void ToSrgb(Image<Rgba32> image, Format format, byte[]? embedded)
    {
        if (embedded is null)
        {
            return;
        }

        var profile = IccMatrixProfile.TryParse(embedded, out var kind)
            ?? throw new RejectedImageException(
                Rejection.UnsupportedFormat,
                $"The {format.Name} carries a colour profile ({kind}) the ImageSharp engine cannot convert to sRGB; the Vips engine can.");
        image.ProcessPixelRows(rows =>
        {
            var rgb = new byte[rows.Width * 3];
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    (rgb[x * 3], rgb[(x * 3) + 1], rgb[(x * 3) + 2]) = (row[x].R, row[x].G, row[x].B);
                }

                profile.ToSrgb(rgb);
                for (var x = 0; x < row.Length; x++)
                {
                    (row[x].R, row[x].G, row[x].B) = (rgb[x * 3], rgb[(x * 3) + 1], rgb[(x * 3) + 2]);
                }
            }
        });
    }

    private static void StripMetadata(ImageMetadata metadata)
    {
        metadata.ExifProfile = null;
        metadata.IccProfile = null;
        metadata.IptcProfile = null;
        metadata.XmpProfile = null;
    }

    private static string LibraryVersion()
    {
        var version = typeof(Image).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return version.Split('+')[0];
    }
}
