using System.Buffers.Binary;
using System.Diagnostics;
using Asgilook.Configuration;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using static Asgilook.Imaging.ImageFormats;
using ImageSharpConfiguration = SixLabors.ImageSharp.Configuration;

namespace Asgilook.Imaging;

/// <summary>
/// Decodes with SixLabors.ImageSharp 2.1.13 (managed code: no buffer overflow can become code execution):
/// all of the ImageSharp engine's reading, and the Vips engine's for BMP, TGA and PNM, which the bundled
/// libvips lacks and which ImageSharp reads more safely than ImageMagick (and a TGA with an image ID
/// correctly, where ImageMagick 7.1 turns it over). The first frame, as 32-bit RGBA, after the header was
/// judged against the pixel limit and the decode budget and the file was found whole (FileStructure).
/// </summary>
public sealed class ImageSharpDecoder
{
    private const int MaxProfileBytes = 16 * 1024 * 1024;

    public static readonly IReadOnlyCollection<ImageLoader> Formats =
        [ImageLoader.Jpeg, ImageLoader.Png, ImageLoader.Gif, ImageLoader.Webp, ImageLoader.Tiff, ImageLoader.Bmp, ImageLoader.Tga, ImageLoader.Pnm];

    private readonly DecodeBudget _budget;
    private readonly TimeSpan _timeout;

    public ImageSharpDecoder(AsgilookOptions settings, DecodeBudget budget)
    {
        _budget = budget;
        _timeout = settings.ImageWorkTimeout;
        Configuration = ImageSharpConfiguration.Default.Clone();
        // The pool keeps a little for reuse; no single buffer may outgrow what one decode may take.
        Configuration.MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
        {
            MaximumPoolSizeMegabytes = 64,
            AllocationLimitMegabytes = settings.MaxDecodeMegabytes,
        });
        Configuration.MaxDegreeOfParallelism = settings.VipsThreads > 0 ? settings.VipsThreads : Environment.ProcessorCount;
    }

    public ImageSharpConfiguration Configuration { get; }

    /// <summary>A decoded first frame and the ICC profile the file carries (ImageSharp 2.1 misses a PNG's).</summary>
    public sealed record Decoded(Image<Rgba32> Image, byte[]? Profile, int Orientation) : IDisposable
    {
        public void Dispose() => Image.Dispose();
    }

    /// <param name="copies">Further whole copies of the pixels the caller will make (for a rotation, for libvips).</param>
    public Decoded Decode(byte[] data, Format format, long maxPixels, Stopwatch clock, int copies)
    {
        if (format.Loader is ImageLoader.Pnm && data[1] == '1')
        {
            data = PlainPbm.Spaced(data);
        }

        var declared = FileStructure.DeclaredSize(format.Loader, data);
        if (declared is var (declaredWidth, declaredHeight))
        {
            DecodeBudget.CheckPixels(declaredWidth, declaredHeight, maxPixels); // before ImageSharp reads a number of it
        }

        var decoder = DecoderOf(format.Loader);
        try
        {
            using var cancel = new CancellationTokenSource(_timeout);
            var header = ((IImageInfoDetector)decoder).Identify(Configuration, new MemoryStream(data, writable: false), cancel.Token)
                ?? throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt: its header cannot be read.");
            var orientation = OrientationOf(header.Metadata);
            CheckCost(format, declared ?? (header.Width, header.Height), data, maxPixels, copies + (orientation is > 1 and <= 8 ? 1 : 0));
            if (!FileStructure.IsComplete(format.Loader, data))
            {
                throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt: the file ends before its structure does.");
            }

            var image = decoder.Decode<Rgba32>(Configuration, new MemoryStream(data, writable: false), cancel.Token);
            try
            {
                while (image.Frames.Count > 1)
                {
                    image.Frames.RemoveFrame(image.Frames.Count - 1); // animated and multi-page: the first frame
                }

                ThrowWhenPast(clock); // not every decoder of 2.1 looks at the token
                return new Decoded(image, image.Metadata.IccProfile?.ToByteArray() ?? (format.Loader is ImageLoader.Png ? PngProfile(data) : null), orientation);
            }
            catch
            {
                image.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is not RejectedImageException)
        {
            throw Rejected(format, e);
        }
    }

    /// <summary>Refuses once the conversion has run past its time (processing in 2.1 cannot be cancelled).</summary>
    public void ThrowWhenPast(Stopwatch clock)
    {
        if (clock.Elapsed > _timeout)
        {
            throw new OperationCanceledException();
        }
    }

    /// <summary>What an ImageSharp failure means for the client.</summary>
    public Exception Rejected(Format format, Exception e) => e switch
    {
        RejectedImageException rejected => rejected,
        OperationCanceledException => new RejectedImageException(
            Rejection.TookTooLong, $"Converting the {format.Name} took longer than the {_timeout.TotalSeconds:0.###} s one image may take.", e),
        InvalidMemoryOperationException => new RejectedImageException(
            Rejection.TooManyPixels, $"The {format.Name} needs more memory to decode than one image may take.", e),
        NotSupportedException => new RejectedImageException(
            Rejection.UnsupportedFormat, $"The {format.Name} uses a feature ImageSharp does not read.", e),
        // Whatever else a decoder throws on hostile bytes (its own bug included) says the file cannot be read.
        _ => new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt.", e),
    };

    private static IImageDecoder DecoderOf(ImageLoader loader) => loader switch
    {
        ImageLoader.Jpeg => new JpegDecoder(),
        ImageLoader.Png => new PngDecoder(),
        ImageLoader.Gif => new GifDecoder { DecodingMode = FrameDecodingMode.First },
        ImageLoader.Webp => new WebpDecoder(),
        ImageLoader.Tiff => new TiffDecoder { DecodingMode = FrameDecodingMode.First },
        ImageLoader.Bmp => new BmpDecoder(),
        ImageLoader.Tga => new TgaDecoder(),
        ImageLoader.Pnm => new PbmDecoder(),
        _ => throw new InvalidOperationException($"ImageSharp does not decode {loader} for Asgilook."),
    };

    /// <summary>
    /// ImageSharp decodes into 32-bit RGBA whole: four bytes a pixel, for every frame of an animated WebP
    /// (its decoder has no first-frame mode), and again for each further copy.
    /// </summary>
    /// <param name="size">The size the header declares: read here for BMP, TGA and PNM, by ImageSharp for the rest.</param>
    private void CheckCost(Format format, (long Width, long Height) size, byte[] data, long maxPixels, int copies)
    {
        var (width, height) = size;
        if (width <= 0 || height <= 0)
        {
            throw new RejectedImageException(Rejection.Unreadable, $"The {format.Name} is truncated or corrupt: its header declares no size.");
        }

        DecodeBudget.CheckPixels(width, height, maxPixels);
        var frames = format.Loader is ImageLoader.Webp ? WebpFrames(data) : 1;
        var layout = frames > 1 ? $"{frames} frames of 32-bit RGBA" : "32-bit RGBA";
        _budget.CheckBytes(format, width, height, layout, width * height * 4 * (frames + copies));
    }

    private static int OrientationOf(ImageMetadata metadata) =>
        metadata.ExifProfile?.GetValue(ExifTag.Orientation) is { } orientation ? orientation.Value : 1;

    /// <summary>The frames of an animated WebP: its ANMF chunks (1 for a still one).</summary>
    private static int WebpFrames(ReadOnlySpan<byte> webp)
    {
        var frames = 0;
        for (long at = 12; at + 8 <= webp.Length;)
        {
            if (webp.Slice((int)at, 4).SequenceEqual("ANMF"u8))
            {
                frames++;
            }

            var size = BinaryPrimitives.ReadUInt32LittleEndian(webp[(int)(at + 4)..]);
            at += 8 + size + (size & 1);
        }

        return Math.Max(1, frames);
    }

    /// <summary>The profile in a PNG's iCCP chunk (before the pixels: a name, a compression byte, then zlib), at most 16 MiB inflated.</summary>
    private static byte[]? PngProfile(byte[] png)
    {
        if (FileStructure.FindPngChunk(png, "iCCP"u8, stopAt: "IDAT"u8) is not var (offset, length))
        {
            return null;
        }

        var name = png.AsSpan(offset, length).IndexOf((byte)0);
        if (name < 0 || name + 2 > length)
        {
            return null;
        }

        using var inflate = new System.IO.Compression.ZLibStream(
            new MemoryStream(png, offset + name + 2, length - name - 2, writable: false), System.IO.Compression.CompressionMode.Decompress);
        using var profile = new MemoryStream();
        var buffer = new byte[81920];
        for (int read; (read = inflate.Read(buffer)) > 0;)
        {
            profile.Write(buffer, 0, read);
            if (profile.Length > MaxProfileBytes)
            {
                return null;
            }
        }

        return profile.ToArray();
    }
}
