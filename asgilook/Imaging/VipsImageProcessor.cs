using System.Diagnostics;
using Asgilook.Configuration;
using Microsoft.Extensions.Options;
using NetVips;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// The default engine, libvips (through NetVips): the one class that calls it, with two fallbacks for the
/// formats the bundled libvips does not read: <see cref="ImageSharpDecoder"/> (managed code) for BMP, TGA and
/// PNM, <see cref="MagickDecoder"/> for HEVC-coded HEIC, ICO/CUR, PSD, JPEG XL and JPEG 2000.
/// Untrusted bytes reach only the loader of the format they were recognised as (libvips' own choice, and
/// its loaders that were never fuzzed, are out of reach), what a decode will cost is judged from the header
/// before a pixel is decoded, and every conversion and thumbnail is stopped once it has run longer than
/// <c>ImageWorkTimeout</c>.
/// </summary>
public sealed class VipsImageProcessor : IImageProcessor
{
    private const int JpegQuality = 85;
    private const int WebpQuality = 85;
    private const int WebpEffort = 2;
    private const int AvifQuality = 70;
    private const int AvifEffort = 0;
    private static readonly double[] White = [255, 255, 255];

    /// <summary>What libvips reads itself; HEIF only when it is coded with AV1 (AVIF), the one HEIF codec in the bundle.</summary>
    private static readonly ImageLoader[] LibvipsFormats =
        [ImageLoader.Jpeg, ImageLoader.Png, ImageLoader.Gif, ImageLoader.Webp, ImageLoader.Tiff, ImageLoader.Heif, ImageLoader.Svg];

    private readonly DecodeBudget _budget;
    private static readonly ImageLoader[] ManagedFormats = [ImageLoader.Bmp, ImageLoader.Tga, ImageLoader.Pnm];

    private readonly MagickDecoder _fallback;
    private readonly ImageSharpDecoder _managed;
    private readonly TimeSpan _timeout;
    private readonly int _maxFrames;

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

        _budget = new DecodeBudget(options.Value.MaxDecodeMegabytes * 1024L * 1024L);
        _timeout = options.Value.ImageWorkTimeout;
        _maxFrames = options.Value.MaxFrames;
        var decoders = options.Value.ImageWorkers > 0 ? options.Value.ImageWorkers : Environment.ProcessorCount;
        _fallback = new MagickDecoder(options.Value.MaxPixels, _budget, decoders, _timeout);
        _managed = new ImageSharpDecoder(options.Value, _budget);
    }

    public string Name => "Vips";

    public IReadOnlyCollection<ImageLoader> Reads { get; } = [.. LibvipsFormats.Union(ManagedFormats).Union(MagickDecoder.Formats)];

    public string Version { get; } = $"vips-{NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)}-q{JpegQuality}";

    public ConvertedImage ConvertToJpeg(byte[] data, long maxPixels)
    {
        var format = UploadHeader.Inspect(data, Reads, Name, maxPixels).Format;
        using var loaded = Load(data, format, maxPixels);
        var frames = FramesOf(loaded, format, maxPixels);
        WorkDeadline? deadline = null;
        try
        {
            using var upright = loaded.Autorot();
            using var srgb = ToSrgb(upright);
            using var flat = srgb.HasAlpha() ? srgb.Flatten(background: White) : srgb.Copy();
            using var eightBit = flat.Format == Enums.BandFormat.Uchar ? flat.Copy() : flat.Cast(Enums.BandFormat.Uchar);
            deadline = Deadline(eightBit);
            var jpeg = eightBit.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None);
            ThrowWhenPast(deadline);
            // The first frame is the stored JPEG; every frame goes into the animation, within the same deadline.
            var animation = frames > 1 ? Animate(data, eightBit.Width, eightBit.Height, frames, deadline) : null;
            return new ConvertedImage(jpeg, eightBit.Width, eightBit.Height, animation);
        }
        catch (VipsException e) when (IsTimeout(e, deadline))
        {
            throw new RejectedImageException(
                Rejection.TookTooLong, $"Converting the {format.Name} took longer than the {_timeout.TotalSeconds:0.###} s one image may take.", e);
        }
        catch (VipsException e)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt.", e);
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    public bool Animates => true;

    /// <summary>
    /// How many frames a GIF or WebP has (1 for a still, and for every other format), refused from its header when there
    /// are more than <c>MaxFrames</c>, or when all of them together pass <c>MaxPixels</c> or the decode budget.
    /// </summary>
    private int FramesOf(Image header, Format format, long maxPixels)
    {
        if (format.Loader is not (ImageLoader.Gif or ImageLoader.Webp) || !header.Contains("n-pages") || header.Get("n-pages") is not int frames || frames < 2)
        {
            return 1;
        }

        DecodeBudget.CheckFrames(format, frames, header.Width, header.Height, _maxFrames, maxPixels);
        _budget.CheckBytes(format, header.Width, (long)header.Height * frames, $"{frames:N0} frames of 4 bands of 8 bits", 4L * header.Width * header.Height * frames);
        return frames;
    }

    /// <summary>
    /// Every frame of the upload, at half its size (the largest thumbnail listed), as an animated WebP: libvips'
    /// thumbnail scales each frame on its own and keeps the delays and the loop count.
    /// </summary>
    private Animation Animate(byte[] data, int width, int height, int frames, WorkDeadline deadline)
    {
        using var lazy = Image.ThumbnailBuffer(data, Math.Max(1, width / 2), optionString: "n=-1,fail-on=warning", height: Math.Max(1, height / 2), size: Enums.Size.Force);
        lazy.SetProgress(NoProgress.Instance, deadline.Token);
        if (lazy.Height != lazy.PageHeight * frames)
        {
            throw new VipsException($"{frames} frames were announced, {lazy.Height / Math.Max(1, lazy.PageHeight)} decoded");
        }

        var webp = lazy.WebpsaveBuffer(q: WebpQuality, effort: WebpEffort, keep: Enums.ForeignKeep.None);
        ThrowWhenPast(deadline);
        return new Animation(webp, frames);
    }

    public RenderedThumbnail AnimatedThumbnail(byte[] animation, int width, int height)
    {
        var clock = Stopwatch.StartNew();
        using var lazy = Image.ThumbnailBuffer(animation, width, optionString: "n=-1", height: height, size: Enums.Size.Force);
        return Render(lazy, ThumbnailFormat.Webp, clock);
    }

    // snippet: thumbnail
    public RenderedThumbnail Thumbnail(byte[] jpeg, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg)
    {
        // ThumbnailBuffer decodes with shrink-on-load; Force gives exactly width × height
        // (the mipmap sizes are floor-halved, so the aspect ratio may differ by under a pixel).
        var clock = Stopwatch.StartNew();
        using var lazy = Image.ThumbnailBuffer(jpeg, width, height: height, size: Enums.Size.Force);
        return Render(lazy, format, clock);
    }

    /// <summary>
    /// Makes the thumbnail's pixels within the deadline and encodes them. libvips is lazy: CopyMemory makes the
    /// (small) thumbnail's pixels now, to time encoding apart.
    /// </summary>
    private RenderedThumbnail Render(Image lazy, ThumbnailFormat format, Stopwatch clock)
    {
        using var deadline = Deadline(lazy);
        Image pixels;
        try
        {
            pixels = lazy.CopyMemory();
        }
        catch (VipsException e) when (IsTimeout(e, deadline))
        {
            throw new ImageWorkTimeoutException(_timeout, e);
        }

        using (pixels)
        {
            ThrowWhenRenderPast(deadline);
            var resize = clock.Elapsed;
            var encoded = Encode(pixels, format); // an animation's every frame: within the deadline too
            ThrowWhenRenderPast(deadline);
            return new RenderedThumbnail(encoded, resize, clock.Elapsed - resize);
        }
    }
    // end snippet

    private void ThrowWhenRenderPast(WorkDeadline deadline)
    {
        if (deadline.IsPast)
        {
            throw new ImageWorkTimeoutException(_timeout, new TimeoutException("finished past the deadline"));
        }
    }

    public IReadOnlyCollection<ThumbnailFormat> ThumbnailFormats => Imaging.ThumbnailFormats.All;

    /// <summary>
    /// From the stored JPEG with shrink-on-load: libvips reads it at 1/8 scale from its DCT coefficients, though
    /// it must still entropy-decode the whole file: 57 ms for 12 MP here, about an eighth of the conversion. The
    /// conversion streams its pixels into the JPEG and never holds them, so there are no decoded pixels to take
    /// the preview from; holding them (72 MB for 24 MP) would cost the memory that streaming saves.
    /// </summary>
    public Placeholder MakePlaceholder(byte[] jpeg)
    {
        using var lazy = Image.ThumbnailBuffer(jpeg, Placeholders.Side, height: Placeholders.Side);
        using var tiny = lazy.CopyMemory(); // read twice below: for the preview and for the colour
        using var blurred = tiny.Gaussblur(Placeholders.PreviewBlur);
        var webp = blurred.WebpsaveBuffer(q: Placeholders.PreviewQuality, keep: Enums.ForeignKeep.None);
        var average = Enumerable.Range(0, 3).Select(band => { using var one = tiny.ExtractBand(band); return one.Avg(); }).ToArray();
        return new Placeholder(Placeholders.DataUri(webp), Placeholders.Colour(average[0], average[1], average[2]));
    }

    public string EncoderOf(ThumbnailFormat format) => format switch
    {
        ThumbnailFormat.Webp => $"webp-q{WebpQuality}-e{WebpEffort}",
        ThumbnailFormat.Avif => $"avif-q{AvifQuality}-e{AvifEffort}",
        _ => "",
    };

    /// <summary>
    /// The qualities that look the same as the JPEG at q85 (mean SSIM over the benchmark's corpus at least the
    /// JPEG's: <c>bench/engines.sh</c>, <c>Asgilook.Bench formats</c>), at the fastest efforts that cost under 2 % in size.
    /// </summary>
    private static byte[] Encode(Image pixels, ThumbnailFormat format) => format switch
    {
        ThumbnailFormat.Webp => pixels.WebpsaveBuffer(q: WebpQuality, effort: WebpEffort, keep: Enums.ForeignKeep.None),
        ThumbnailFormat.Avif => pixels.HeifsaveBuffer(
            q: AvifQuality, compression: Enums.ForeignHeifCompression.Av1, effort: AvifEffort, keep: Enums.ForeignKeep.None),
        _ => pixels.JpegsaveBuffer(q: JpegQuality, keep: Enums.ForeignKeep.None),
    };

    /// <summary>
    /// Opens the upload with libvips' loader of its format, or hands it to the fallback decoder when the
    /// bundled libvips cannot decode it. Opening reads the header only: libvips decodes pixels when they are
    /// first asked for. Sequential access streams the decode through the pipeline, so a 24 MP photo never sits
    /// whole in memory; only a rotation (EXIF orientation 5 to 8, or a flip) needs random access.
    /// </summary>
    private Image Load(byte[] data, Format format, long maxPixels)
    {
        if (ManagedFormats.Contains(format.Loader))
        {
            return FromImageSharp(data, format, maxPixels);
        }

        if (!LibvipsFormats.Contains(format.Loader))
        {
            return _fallback.Decode(data, format, maxPixels);
        }

        var image = Open(data, format, Enums.Access.Sequential);
        if (format.Loader is ImageLoader.Heif && image.Contains("heif-compression") && (string)image.Get("heif-compression") != "av1")
        {
            image.Dispose(); // iPhone photos: HEVC, which the bundle's libheif does not decode
            return _fallback.Decode(data, format, maxPixels);
        }

        if (NeedsRandomAccess(image))
        {
            image = Reopen(image, data, format);
        }

        try
        {
            CheckCost(image, format, maxPixels);
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>BMP, TGA and PNM: decoded by ImageSharp to RGBA, copied once for libvips (counted in the budget).</summary>
    private Image FromImageSharp(byte[] data, Format format, long maxPixels)
    {
        using var decoded = _managed.Decode(data, format, maxPixels, Stopwatch.StartNew(), copies: 1);
        var pixels = new byte[(long)decoded.Image.Width * decoded.Image.Height * 4];
        decoded.Image.CopyPixelDataTo(pixels);
        using var raw = Image.NewFromMemory(pixels, decoded.Image.Width, decoded.Image.Height, 4, Enums.BandFormat.Uchar);
        using var labelled = raw.Copy(interpretation: Enums.Interpretation.Srgb);
        return labelled.Mutate(vips =>
        {
            if (decoded.Profile is { Length: > 20 } profile && profile.AsSpan(16, 4).SequenceEqual("RGB "u8))
            {
                vips.Set(GValue.BlobType, "icc-profile-data", profile);
            }
        });
    }

    /// <summary>
    /// Refuses, from the header alone, an image with more pixels than allowed, or whose decode would need
    /// more memory than one decode may have: every pixel with all its bands at its sample size (the
    /// worst case: progressive JPEGs, interlaced PNGs, GIF, WebP and HEIF decode whole), twice over when
    /// a rotation needs the upright copy too.
    /// </summary>
    private void CheckCost(Image header, Format format, long maxPixels)
    {
        DecodeBudget.CheckPixels(header.Width, header.Height, maxPixels);
        var bytes = (long)header.Width * header.Height * header.Bands * SampleBytes(header.Format) * (NeedsRandomAccess(header) ? 2 : 1);
        _budget.CheckBytes(format, header.Width, header.Height, $"{header.Bands} band(s) of {SampleBytes(header.Format) * 8} bits", bytes);
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
    private WorkDeadline Deadline(Image image)
    {
        var deadline = new WorkDeadline(_timeout);
        image.SetProgress(NoProgress.Instance, deadline.Token);
        return deadline;
    }

    /// <summary>
    /// libvips looks at the kill flag only between progress signals, which it throttles, and the token's timer
    /// fires late when the thread pool is busy: work that ends just after its deadline may finish unkilled.
    /// It is refused all the same, by the clock, so a deadline means one thing.
    /// </summary>
    private static void ThrowWhenPast(WorkDeadline deadline)
    {
        if (deadline.IsPast)
        {
            throw new VipsException("killed: past the deadline");
        }
    }

    /// <summary>A kill surfaces as whichever operation was running failing, not always with "killed" in its message.</summary>
    private static bool IsTimeout(VipsException e, WorkDeadline? deadline) =>
        deadline is { IsPast: true } || e.Message.Contains("killed", StringComparison.OrdinalIgnoreCase);

    /// <summary>The time one operation may take: a token that kills libvips' evaluation, and the clock.</summary>
    private sealed class WorkDeadline(TimeSpan timeout) : IDisposable
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly CancellationTokenSource _source = new(timeout);

        public CancellationToken Token => _source.Token;

        public bool IsPast => _source.IsCancellationRequested || Stopwatch.GetElapsedTime(_start) > timeout;

        public void Dispose() => _source.Dispose();
    }

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
