using System.Buffers.Binary;
using System.Text;
using NetVips;

namespace Asgilook.Tests;

/// <summary>Small files with hostile or unusual headers, made at test time.</summary>
public static class CraftedImages
{
    /// <summary>
    /// A small valid PNG whose IHDR is rewritten (with a correct CRC) to declare width × height, and the
    /// bit depth and colour type given (16 and 6: RGBA of 16 bits a sample, 8 bytes a pixel).
    /// </summary>
    public static byte[] PngDeclaring(int width, int height, byte bitDepth = 8, byte colourType = 2)
    {
        var png = TestImages.RandomEllipses(64, 64);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        png[24] = bitDepth;
        png[25] = colourType;
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    /// <summary>A small valid JPEG whose start-of-frame is rewritten to declare width × height.</summary>
    public static byte[] JpegDeclaring(ushort width, ushort height)
    {
        var jpeg = TestImages.RandomEllipses(64, 64, ".jpg");
        for (var i = 2; i < jpeg.Length - 9; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] is 0xC0 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(i + 5), height);
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(i + 7), width);
                return jpeg;
            }
        }

        throw new InvalidOperationException("The JPEG has no start-of-frame marker.");
    }

    public static byte[] SvgDeclaring(int width, int height) => Encoding.UTF8.GetBytes(
        $"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'><circle cx='10' cy='10' r='5'/></svg>");

    /// <summary>
    /// The security review's H1: an SVG declaring 64×64 that draws a flat <paramref name="side"/>² RGBA PNG embedded as
    /// a <c>data:</c> URL, a few hundred kilobytes that librsvg would decode whole, twice over, past every limit of Asgilook's.
    /// </summary>
    public static byte[] SvgWithEmbeddedPicture(int side)
    {
        using var black = Image.Black(side, side, bands: 4);
        using var bytes = black.Cast(Enums.BandFormat.Uchar);
        var png = Convert.ToBase64String(bytes.PngsaveBuffer(compression: 9));
        return Encoding.UTF8.GetBytes(
            $"<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'><image width='64' height='64' href='data:image/png;base64,{png}'/></svg>");
    }

    /// <summary>
    /// An SVG the policy lets through (shapes and a filter of its own) whose render holds far more than its declared size
    /// says: librsvg filters a <paramref name="side"/>² canvas through several surfaces of 4 bytes a pixel.
    /// </summary>
    public static byte[] SvgFilterBomb(int side) => Encoding.UTF8.GetBytes(
        $"<svg xmlns='http://www.w3.org/2000/svg' width='{side}' height='{side}'><filter id='f' x='0' y='0' width='1' height='1'>" +
        "<feGaussianBlur stdDeviation='50'/><feOffset dx='3'/><feMorphology radius='3'/></filter>" +
        $"<rect width='{side}' height='{side}' fill='red' filter='url(#f)'/><rect width='{side}' height='{side}' fill='blue' opacity='0.5' filter='url(#f)'/></svg>");

    /// <summary>
    /// The security review's M10 (ImageSharp #3074): a 40-byte BMP whose pixel data offset is 0x7FFFFF00, from which
    /// ImageSharp 2.1.13 sizes a palette of 2 GiB, outside its capped allocator.
    /// </summary>
    public static byte[] BmpWithAHugePixelOffset()
    {
        var bmp = new byte[40];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), 58);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 0x7FFFFF00);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 1);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 8);
        return bmp;
    }

    /// <summary>
    /// The security review's H2: a flat 9000×9000 JPEG 2000 of a few hundred bytes, inside the decode budget by its header
    /// (81 MP × 3 bands) but needing well over a gigabyte in OpenJPEG. Made once per run (opj_compress takes seconds).
    /// </summary>
    public static byte[] FlatJpeg2000 => LazyFlatJpeg2000.Value;

    private static readonly Lazy<byte[]> LazyFlatJpeg2000 = new(() => FormatTools.Jpeg2000(TestImages.Flat(9000, 9000, bands: 3)));

    /// <summary>A real 2×2 BMP file (black): a format the bundled libvips does not read, ImageSharp does.</summary>
    public static byte[] Bmp()
    {
        var bmp = new byte[70];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 2);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 2);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        return bmp;
    }

    /// <summary>A binary PPM: a format libvips reads with a loader it marks untrusted (never fuzzed).</summary>
    public static byte[] Ppm() => [.. "P6\n2 2\n255\n"u8, .. new byte[12]];

    public static byte[] Pdf() => "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"u8.ToArray();

    /// <summary>A two-frame GIF: red, then blue.</summary>
    public static byte[] AnimatedGif()
    {
        using var red = Image.Black(32, 32).NewFromImage(255, 0, 0);
        using var blue = Image.Black(32, 32).NewFromImage(0, 0, 255);
        using var frames = Image.Arrayjoin([red, blue], across: 1).Cast(Enums.BandFormat.Uchar);
        using var animation = frames.Mutate(image =>
        {
            image.Set(GValue.GIntType, "page-height", 32);
            image.Set(GValue.ArrayIntType, "delay", new[] { 100, 100 });
        });
        return animation.GifsaveBuffer();
    }

    /// <summary>An 8-bit palette PNG.</summary>
    public static byte[] PalettePng() => Image.NewFromBuffer(TestImages.RandomEllipses(64, 48)).PngsaveBuffer(palette: true);

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
