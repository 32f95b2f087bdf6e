using System.Diagnostics;
using ImageMagick;
using ImageMagick.Configuration;
using NetVips;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// The fallback decoder of the libvips engine: ImageMagick (Magick.NET) reads what the bundled libvips
/// lacks and ImageSharp does not read (HEIC coded with HEVC, ICO/CUR, PSD, JPEG XL, JPEG 2000) into 8-bit pixels,
/// which go on through the same libvips pipeline as every other upload (orientation, sRGB, JPEG).
/// <para>
/// ImageMagick reads hundreds of formats and its history of flaws is long, so an upload reaches only the
/// coder of the format Asgilook recognised it as: a policy lets nothing else run (no other coder, no
/// delegate program, no indirect <c>@file</c> read, no module). Resource limits back up the header checks
/// made here before decoding. ImageMagick's own time limit cannot be used: it counts from the first image
/// the process ever decoded and ends the process when it runs out, so the deadline is checked when the
/// decode returns; the pixel and memory limits bound how long a decode can take.
/// </para>
/// </summary>
public sealed class MagickDecoder
{
    // PNG is readable because an icon's large frames are PNG files inside the ICO, read by the ICO coder;
    // an upload recognised as a PNG never comes here (libvips reads it).
    private const string Policy = """
        <policymap>
          <policy domain="delegate" rights="none" pattern="*" />
          <policy domain="coder" rights="none" pattern="*" />
          <policy domain="coder" rights="read" pattern="{HEIC,ICO,CUR,PSD,PSB,JXL,JP2,J2K,PNG}" />
          <policy domain="module" rights="none" pattern="{MSL,MVG,SVG,TEXT,URL,PS,PDF,EPHEMERAL}" />
          <policy domain="path" rights="none" pattern="@*" />
          <policy domain="filter" rights="none" pattern="*" />
        </policymap>
        """;

    private static readonly Lock LimitsLock = new();
    private static ulong s_area;
    private static ulong s_memory;

    /// <summary>
    /// ImageMagick's native library, loaded on the first decode that needs it (so a server that only renders
    /// thumbnails never maps it): null when it loaded, else why not. A machine without it for its platform still
    /// starts and reads every other format; only these formats are refused, naming the missing decoder.
    /// </summary>
    private static readonly Lazy<string?> s_missing = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly DecodeBudget _budget;
    private readonly TimeSpan _timeout;

    /// <param name="decodersAtOnce">How many decodes may run at once: ImageMagick counts memory across all of them.</param>
    public MagickDecoder(long maxPixels, DecodeBudget budget, int decodersAtOnce, TimeSpan timeout)
    {
        _budget = budget;
        _timeout = timeout;
        // The limits are the process's: the largest any engine in it was configured with.
        lock (LimitsLock)
        {
            s_area = Math.Max(s_area, (ulong)maxPixels);
            s_memory = Math.Max(s_memory, (ulong)budget.MaxDecodeBytes * (ulong)Math.Max(1, decodersAtOnce));
            if (s_missing.IsValueCreated && s_missing.Value is null)
            {
                ApplyLimits();
            }
        }
    }

    /// <summary>Why ImageMagick cannot decode on this machine (its native library did not load); null when it can.</summary>
    public static string? Missing => s_missing.Value;

    private static string? Load()
    {
        try
        {
            var files = ConfigurationFiles.Default;
            files.Policy.Data = Policy;
            MagickNET.Initialize(files);
            ResourceLimits.Disk = 0; // the pixel cache stays in memory: past the memory limit a decode fails
            ResourceLimits.ListLength = 256; // frames of an icon
            ResourceLimits.MaxProfileSize = 16 * 1024 * 1024;
            ResourceLimits.Thread = 1; // the image workers already keep every core busy
            lock (LimitsLock)
            {
                ApplyLimits();
            }

            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or TypeInitializationException)
        {
            return $"its native library for {System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier} could not be loaded ({e.GetType().Name})";
        }
    }

    private static void ApplyLimits()
    {
        ResourceLimits.Area = s_area;
        ResourceLimits.Width = (uint)Math.Min(s_area, uint.MaxValue);
        ResourceLimits.Height = (uint)Math.Min(s_area, uint.MaxValue);
        ResourceLimits.Memory = s_memory;
        ResourceLimits.MaxMemoryRequest = s_memory;
    }

    /// <summary>The formats read here rather than by libvips (HEIF only when it is coded with HEVC).</summary>
    public static readonly IReadOnlyCollection<ImageLoader> Formats =
        [ImageLoader.Heif, ImageLoader.Ico, ImageLoader.Psd, ImageLoader.JpegXl, ImageLoader.Jpeg2000];

    /// <summary>
    /// Decodes <paramref name="data"/> (recognised as <paramref name="format"/>) to a libvips image in memory,
    /// carrying its ICC profile and orientation. Multi-frame formats give their first frame, an icon its largest.
    /// </summary>
    public NetVips.Image Decode(byte[] data, Format format, long maxPixels)
    {
        if (Missing is { } missing)
        {
            throw new RejectedImageException(
                Rejection.UnsupportedFormat, $"This server cannot read {format.Name}: its decoder, ImageMagick, is not available here ({missing}).");
        }

        var settings = new MagickReadSettings { Format = CoderOf(format, data) };
        var icon = format.Loader is ImageLoader.Ico;
        if (!icon)
        {
            settings.FrameIndex = 0;
            settings.FrameCount = 1;
        }

        var clock = Stopwatch.StartNew();
        try
        {
            using var frames = new MagickImageCollection();
            frames.Ping(data, settings);
            var chosen = Largest(frames);
            CheckCost(format, frames, chosen, maxPixels);
            if (format.Loader is ImageLoader.Psd && !PsdComposite.IsComplete(data))
            {
                throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt: its composite image is cut short.");
            }

            frames.Warning += RefuseCorruption;
            frames.Read(data, settings);
            if (frames.Count <= chosen)
            {
                throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt.");
            }

            var image = frames[chosen];
            CheckCost(format, frames, chosen, maxPixels); // what was decoded, in case the header said less
            if (clock.Elapsed > _timeout)
            {
                throw new RejectedImageException(
                    Rejection.TookTooLong, $"Decoding the {format.Name} took longer than the {_timeout.TotalSeconds:0.###} s one image may take.");
            }

            return ToVips(image, orientation: format.Loader is ImageLoader.Heif ? 1 : (int)image.Orientation);
        }
        catch (MagickResourceLimitErrorException e)
        {
            throw new RejectedImageException(Rejection.TooManyPixels, $"The {format.Name} needs more than the decoder's limits allow.", e);
        }
        catch (MagickException e)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt.", e);
        }
    }

    private static void RefuseCorruption(object? sender, WarningEventArgs e)
    {
        if (e.Exception is MagickCorruptImageWarningException)
        {
            throw e.Exception;
        }
    }

    private static MagickFormat CoderOf(Format format, ReadOnlySpan<byte> data) => format.Loader switch
    {
        ImageLoader.Heif => MagickFormat.Heic,
        ImageLoader.Ico => format.Name == "CUR" ? MagickFormat.Cur : MagickFormat.Ico,
        ImageLoader.Psd => MagickFormat.Psd,
        ImageLoader.JpegXl => MagickFormat.Jxl,
        ImageLoader.Jpeg2000 => data[0] == 0xFF ? MagickFormat.J2k : MagickFormat.Jp2,
        _ => throw new InvalidOperationException($"ImageMagick does not decode {format.Name} for Asgilook."),
    };

    private static int Largest(MagickImageCollection frames)
    {
        if (frames.Count == 0)
        {
            throw new MagickCorruptImageErrorException("no image");
        }

        var best = 0;
        for (var i = 1; i < frames.Count; i++)
        {
            if ((long)frames[i].Width * frames[i].Height > (long)frames[best].Width * frames[best].Height)
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// Every frame read (an icon's all) is held by ImageMagick with one byte per channel, and the chosen one
    /// copied once more for libvips, twice if it must be turned upright.
    /// </summary>
    private void CheckCost(Format format, MagickImageCollection frames, int chosen, long maxPixels)
    {
        var image = frames[chosen];
        DecodeBudget.CheckPixels(image.Width, image.Height, maxPixels);
        var held = frames.Sum(frame => (long)frame.Width * frame.Height * Math.Max(3, (int)frame.ChannelCount));
        var copies = NeedsRotation((int)image.Orientation) && format.Loader is not ImageLoader.Heif ? 2 : 1;
        var channels = Math.Max(3, (int)image.ChannelCount);
        var bytes = held + ((long)image.Width * image.Height * channels * copies);
        _budget.CheckBytes(format, image.Width, image.Height, $"{channels} channel(s) of 8 bits, decoded by ImageMagick and copied for libvips", bytes);
    }

    private static bool NeedsRotation(int orientation) => orientation is > 1 and <= 8;

    private static NetVips.Image ToVips(IMagickImage<byte> image, int orientation)
    {
        if (image.ColorSpace is not (ColorSpace.CMYK or ColorSpace.Gray or ColorSpace.sRGB))
        {
            image.ColorSpace = ColorSpace.sRGB;
        }

        (string Mapping, Enums.Interpretation Interpretation, byte[] ProfileSpace) layout = image.ColorSpace switch
        {
            ColorSpace.CMYK => ("CMYK", Enums.Interpretation.Cmyk, "CMYK"u8.ToArray()),
            ColorSpace.Gray => ("R", Enums.Interpretation.Bw, "GRAY"u8.ToArray()),
            _ => ("RGB", Enums.Interpretation.Srgb, "RGB "u8.ToArray()),
        };
        var (mapping, interpretation, profileSpace) = layout;
        if (image.HasAlpha)
        {
            mapping += "A";
        }

        byte[] bytes;
        using (var pixels = image.GetPixelsUnsafe())
        {
            bytes = pixels.ToByteArray(mapping) ?? throw new MagickCorruptImageErrorException("no pixels");
        }

        // A profile for another colour space than the pixels' (a grey image with an RGB profile) is dropped.
        var icc = image.GetProfile("icc")?.ToByteArray();
        var profile = icc is { Length: > 20 } && icc.AsSpan(16, 4).SequenceEqual(profileSpace) ? icc : null;
        using var raw = NetVips.Image.NewFromMemory(bytes, (int)image.Width, (int)image.Height, mapping.Length, Enums.BandFormat.Uchar);
        using var labelled = raw.Copy(interpretation: interpretation);
        return labelled.Mutate(vips =>
        {
            if (profile is not null)
            {
                vips.Set(GValue.BlobType, "icc-profile-data", profile);
            }

            if (NeedsRotation(orientation))
            {
                vips.Set(GValue.GIntType, "orientation", orientation);
            }
        });
    }
}
