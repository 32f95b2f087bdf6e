using System.Diagnostics;
using Asgilook.Configuration;
using Microsoft.Extensions.Options;
using NetVips;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// The one class that calls libvips (through NetVips). Swap the engine by implementing
/// <see cref="IImageProcessor"/> elsewhere. Untrusted bytes reach only the loader of the format they
/// were recognised as (libvips' own choice, and its loaders that were never fuzzed, are out of reach),
/// what a decode will cost is judged from the header before a pixel is decoded, and every conversion
/// and thumbnail is stopped once it has run longer than <c>ImageWorkTimeout</c>.
/// </summary>
public sealed class VipsImageProcessor : IImageProcessor
{
    private const int JpegQuality = 85;
    private static readonly double[] White = [255, 255, 255];

    private readonly long _maxDecodeBytes;
    private readonly TimeSpan _timeout;

    static VipsImageProcessor()
    {
        // Every request works on a different image, so libvips' operation and file caches would
        // only hold memory (and pin buffers) without ever being hit: memory stays flat without them.
        Cache.Max = 0;
        Cache.MaxFiles = 0;
        Cache.MaxMem = 0;
        // The loaders libvips marks untrusted (not fuzzed: matrix, csv, ppm, fits, magick, ...) cannot run at
        // all. SVG is among them and is a format Asgilook takes, so its loader alone is let back in: librsvg
        // given bytes (no file, no base URL) loads no external resource, which the tests check.
        NetVips.NetVips.BlockUntrusted = true;
        Operation.Block("VipsForeignLoadSvg", false);
    }

    public VipsImageProcessor(IOptions<AsgilookOptions> options)
    {
        if (options.Value.VipsThreads > 0)
        {
            NetVips.NetVips.Concurrency = options.Value.VipsThreads;
        }

        _maxDecodeBytes = options.Value.MaxDecodeMegabytes * 1024L * 1024L;
        _timeout = options.Value.ImageWorkTimeout;
    }

    public string Version { get; } = $"vips-{NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)}-q{JpegQuality}";

    public ConvertedImage ConvertToJpeg(byte[] data, long maxPixels)
    {
        var format = Sniff(data);
        if (format is null)
        {
            throw new RejectedImageException(Rejection.Unreadable, LooksLikeText(data)
                ? $"The body is text, not an image; send the bytes of an image ({SupportedNames})."
                : $"The body is not an image in a format Asgilook reads ({SupportedNames}).");
        }

        if (!format.Supported)
        {
            throw new RejectedImageException(
                Rejection.UnsupportedFormat,
                $"The body is a {format.Name} image; Asgilook reads {SupportedNames}.");
        }

        // Opening reads the header only: libvips decodes pixels when they are first asked for.
        // Sequential access streams the decode through the pipeline, so a 24 MP photo never sits
        // whole in memory; only a rotation (EXIF orientation 5 to 8, or a flip) needs random access.
        using var loaded = Open(data, format, Enums.Access.Sequential) is var sequential && NeedsRandomAccess(sequential)
            ? Reopen(sequential, data, format)
            : sequential;
        CheckCost(loaded, format, maxPixels);

        try
        {
            using var upright = loaded.Autorot();
            using var srgb = ToSrgb(upright);
            using var flat = srgb.HasAlpha() ? srgb.Flatten(background: White) : srgb.Copy();
            using var eightBit = flat.Format == Enums.BandFormat.Uchar ? flat.Copy() : flat.Cast(Enums.BandFormat.Uchar);
            using var deadline = Deadline(eightBit);
            var jpeg = eightBit.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
            return new ConvertedImage(jpeg, eightBit.Width, eightBit.Height);
        }
        catch (VipsException e) when (IsTimeout(e))
        {
            throw new RejectedImageException(
                Rejection.TookTooLong, $"Converting the {format.Name} took longer than the {_timeout.TotalSeconds:0.###} s one image may take.", e);
        }
        catch (VipsException e)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt.", e);
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
        using var deadline = Deadline(lazy);
        Image pixels;
        try
        {
            pixels = lazy.CopyMemory();
        }
        catch (VipsException e) when (IsTimeout(e))
        {
            throw new ImageWorkTimeoutException(_timeout, e);
        }

        using (pixels)
        {
            var resize = clock.Elapsed;
            var encoded = pixels.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
            return new RenderedThumbnail(encoded, resize, clock.Elapsed - resize);
        }
    }
    // end snippet

    /// <summary>
    /// Refuses, from the header alone, an image with more pixels than allowed, or whose decode would need
    /// more memory than one decode may have: every pixel with all its bands at its sample size (the
    /// worst case: progressive JPEGs, interlaced PNGs, GIF, WebP and HEIF decode whole), twice over when
    /// a rotation needs the upright copy too.
    /// </summary>
    private void CheckCost(Image header, Format format, long maxPixels)
    {
        var pixels = (long)header.Width * header.Height;
        if (pixels > maxPixels)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels,
                $"The image declares {header.Width}x{header.Height} pixels, more than the {maxPixels:N0} allowed.");
        }

        var bytes = pixels * header.Bands * SampleBytes(header.Format) * (NeedsRandomAccess(header) ? 2 : 1);
        if (bytes > _maxDecodeBytes)
        {
            throw new RejectedImageException(
                Rejection.TooManyPixels,
                $"The {format.Name} ({header.Width}x{header.Height}, {header.Bands} band(s) of {SampleBytes(header.Format) * 8} bits) needs " +
                $"{(bytes + (1024 * 1024) - 1) / (1024 * 1024):N0} MiB to decode, more than the {_maxDecodeBytes / (1024 * 1024):N0} MiB one image may take.");
        }
    }

    private static int SampleBytes(Enums.BandFormat format) => format switch
    {
        Enums.BandFormat.Uchar or Enums.BandFormat.Char => 1,
        Enums.BandFormat.Ushort or Enums.BandFormat.Short => 2,
        Enums.BandFormat.Uint or Enums.BandFormat.Int or Enums.BandFormat.Float => 4,
        Enums.BandFormat.Complex or Enums.BandFormat.Double => 8,
        _ => 16,
    };

    /// <summary>Stops the evaluation of <paramref name="image"/> (libvips' kill flag) once the time budget is spent.</summary>
    private IDisposable Deadline(Image image)
    {
        var budget = new CancellationTokenSource(_timeout);
        image.SetProgress(NoProgress.Instance, budget.Token);
        return budget;
    }

    private static bool IsTimeout(VipsException e) => e.Message.Contains("killed", StringComparison.OrdinalIgnoreCase);

    private static bool NeedsRandomAccess(Image image) =>
        image.Contains("orientation") && image.Get("orientation") is int orientation && orientation is not (0 or 1);

    private static Image Reopen(Image sequential, byte[] data, Format format)
    {
        sequential.Dispose();
        return Open(data, format, Enums.Access.Random);
    }

    /// <summary>
    /// The loader of the recognised format, and no other. fail-on "warning" (sharp's default too) refuses a
    /// truncated or corrupt file instead of decoding it half grey: at "error", libjpeg's "corrupt data"
    /// warnings would pass. Multi-page and animated formats give their first page.
    /// </summary>
    private static Image Open(byte[] data, Format format, Enums.Access access)
    {
        const Enums.FailOn failOn = Enums.FailOn.Warning;
        try
        {
            return format.Loader switch
            {
                ImageLoader.Jpeg => Image.JpegloadBuffer(data, access: access, failOn: failOn),
                ImageLoader.Png => Image.PngloadBuffer(data, access: access, failOn: failOn),
                ImageLoader.Gif => Image.GifloadBuffer(data, access: access, failOn: failOn),
                ImageLoader.Webp => Image.WebploadBuffer(data, access: access, failOn: failOn),
                ImageLoader.Tiff => Image.TiffloadBuffer(data, access: access, failOn: failOn),
                ImageLoader.Heif => Image.HeifloadBuffer(data, access: access, failOn: failOn),
                // unlimited stays off: librsvg's own limits on element counts and XML size hold.
                ImageLoader.Svg => Image.SvgloadBuffer(data, access: access, failOn: failOn),
                _ => throw new InvalidOperationException($"No loader for {format.Name}."),
            };
        }
        catch (VipsException e)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt: its header cannot be read.", e);
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

    /// <summary>NetVips stops an evaluation through its progress hook; nothing here wants the percentages.</summary>
    private sealed class NoProgress : IProgress<int>
    {
        public static readonly NoProgress Instance = new();

        public void Report(int value)
        {
        }
    }
}
