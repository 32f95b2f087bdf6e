using System.Buffers.Binary;
using System.Text.Unicode;

namespace Asgilook.Imaging;

/// <summary>
/// Recognises file formats by their magic bytes: the engines open an upload with the decoder of the format
/// it was recognised as and no other, and a refusal can tell the client what it sent (a corrupt PNG, a
/// PDF, which is a document rather than an image, or a text file).
/// </summary>
public static class ImageFormats
{
    /// <summary>The decoder family a format is read with; <see cref="ImageLoader.None"/> for one Asgilook does not read.</summary>
    public enum ImageLoader { None, Jpeg, Png, Gif, Webp, Tiff, Heif, Svg, Bmp, Ico, Tga, Pnm, Psd, JpegXl, Jpeg2000 }

    public sealed record Format(string Name, ImageLoader Loader)
    {
        public bool Supported => Loader is not ImageLoader.None;
    }

    private static readonly (byte[] Magic, int Offset, Format Format)[] Signatures =
    [
        ([0xFF, 0xD8, 0xFF], 0, new("JPEG", ImageLoader.Jpeg)),
        ([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], 0, new("PNG", ImageLoader.Png)),
        ("GIF8"u8.ToArray(), 0, new("GIF", ImageLoader.Gif)),
        ("WEBP"u8.ToArray(), 8, new("WebP", ImageLoader.Webp)),
        ([(byte)'I', (byte)'I', 0x2A, 0x00], 0, new("TIFF", ImageLoader.Tiff)),
        ([(byte)'M', (byte)'M', 0x00, 0x2A], 0, new("TIFF", ImageLoader.Tiff)),
        ([(byte)'I', (byte)'I', 0x2B, 0x00], 0, new("TIFF", ImageLoader.Tiff)),
        ([(byte)'M', (byte)'M', 0x00, 0x2B], 0, new("TIFF", ImageLoader.Tiff)),
        ("ftypheic"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftypheix"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftyphevc"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftyphevx"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftypheim"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftypheis"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftypmif1"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftypmsf1"u8.ToArray(), 4, new("HEIF", ImageLoader.Heif)),
        ("ftypavif"u8.ToArray(), 4, new("AVIF", ImageLoader.Heif)),
        ("ftypavis"u8.ToArray(), 4, new("AVIF", ImageLoader.Heif)),
        ("BM"u8.ToArray(), 0, new("BMP", ImageLoader.Bmp)),
        ("8BPS"u8.ToArray(), 0, new("PSD", ImageLoader.Psd)),
        ([0xFF, 0x0A], 0, new("JPEG XL", ImageLoader.JpegXl)),
        ([0x00, 0x00, 0x00, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A], 0, new("JPEG XL", ImageLoader.JpegXl)),
        ([0x00, 0x00, 0x00, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A], 0, new("JPEG 2000", ImageLoader.Jpeg2000)),
        ([0xFF, 0x4F, 0xFF, 0x51], 0, new("JPEG 2000", ImageLoader.Jpeg2000)),
        ("P1"u8.ToArray(), 0, new("PBM", ImageLoader.Pnm)),
        ("P4"u8.ToArray(), 0, new("PBM", ImageLoader.Pnm)),
        ("P2"u8.ToArray(), 0, new("PGM", ImageLoader.Pnm)),
        ("P5"u8.ToArray(), 0, new("PGM", ImageLoader.Pnm)),
        ("P3"u8.ToArray(), 0, new("PPM", ImageLoader.Pnm)),
        ("P6"u8.ToArray(), 0, new("PPM", ImageLoader.Pnm)),
        ("%PDF"u8.ToArray(), 0, new("PDF", ImageLoader.None)),
        ("%!PS"u8.ToArray(), 0, new("PostScript", ImageLoader.None)),
        ([0xC5, 0xD0, 0xD3, 0xC6], 0, new("PostScript", ImageLoader.None)),
        ("qoif"u8.ToArray(), 0, new("QOI", ImageLoader.None)),
        ("icns"u8.ToArray(), 0, new("ICNS", ImageLoader.None)),
        ("DDS "u8.ToArray(), 0, new("DDS", ImageLoader.None)),
        ("gimp xcf"u8.ToArray(), 0, new("GIMP XCF", ImageLoader.None)),
    ];

    /// <summary>The format the bytes announce, or null when no signature matches.</summary>
    public static Format? Sniff(ReadOnlySpan<byte> data)
    {
        foreach (var (magic, offset, format) in Signatures)
        {
            if (data.Length >= offset + magic.Length && data.Slice(offset, magic.Length).SequenceEqual(magic)
                && (format.Loader is not ImageLoader.Pnm || IsPnmSeparator(data, magic.Length)))
            {
                return format;
            }
        }

        if (LooksLikeIcon(data) is { } icon)
        {
            return icon;
        }

        if (LooksLikeSvg(data))
        {
            return new Format("SVG", ImageLoader.Svg);
        }

        return LooksLikeTga(data) ? new Format("TGA", ImageLoader.Tga) : null;
    }

    /// <summary>Whether the bytes read as text: UTF-8 without control characters other than whitespace.</summary>
    public static bool LooksLikeText(ReadOnlySpan<byte> data)
    {
        var sample = data[..Math.Min(data.Length, 4096)];
        foreach (var b in sample)
        {
            if (b < 0x20 && b is not ((byte)'\n' or (byte)'\r' or (byte)'\t' or 0x0C))
            {
                return false;
            }
        }

        // The sample may end inside a multi-byte character, so up to three trailing bytes may be cut.
        for (var cut = 0; cut <= Math.Min(3, sample.Length); cut++)
        {
            if (Utf8.IsValid(sample[..^cut]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The names of the formats an engine reads, as a client reads them in a refusal.</summary>
    public static string NamesOf(IEnumerable<ImageLoader> loaders)
    {
        var names = loaders.Select(NameOf).ToList();
        return names.Count < 2 ? string.Concat(names) : $"{string.Join(", ", names[..^1])} or {names[^1]}";
    }

    private static string NameOf(ImageLoader loader) => loader switch
    {
        ImageLoader.Heif => "HEIF/HEIC/AVIF",
        ImageLoader.Ico => "ICO/CUR",
        ImageLoader.Pnm => "PBM/PGM/PPM",
        ImageLoader.JpegXl => "JPEG XL",
        ImageLoader.Jpeg2000 => "JPEG 2000",
        ImageLoader.Webp => "WebP",
        _ => loader.ToString().ToUpperInvariant(),
    };

    // "P6" alone could start any text; a PNM header goes on with whitespace (or a comment) before its width.
    private static bool IsPnmSeparator(ReadOnlySpan<byte> data, int at) =>
        data.Length > at && data[at] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'#';

    /// <summary>
    /// An icon starts 00 00 01 00 (ICO) or 00 00 02 00 (CUR), which a TGA's header can too, so the first
    /// directory entry must also make sense: at least one image, its data after the directory.
    /// </summary>
    private static Format? LooksLikeIcon(ReadOnlySpan<byte> data)
    {
        if (data.Length < 6 + 16 || data[0] != 0 || data[1] != 0 || data[2] is not (1 or 2) || data[3] != 0)
        {
            return null;
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(data[18..]);
        var sensible = count > 0 && data[9] == 0 && size > 0 && offset >= 6 + (16L * count);
        return sensible ? new Format(data[2] == 1 ? "ICO" : "CUR", ImageLoader.Ico) : null;
    }

    private static bool LooksLikeSvg(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(data.Length, 1024)];
        return head.IndexOf("<svg"u8) >= 0;
    }

    /// <summary>
    /// TGA has no magic number at its start: a TGA 2.0 file ends with a "TRUEVISION-XFILE" footer, and an
    /// older one is recognised from an 18-byte header whose every field holds a value TGA allows. This runs
    /// after every other signature and the SVG check, so only otherwise unrecognised bytes reach it.
    /// </summary>
    private static bool LooksLikeTga(ReadOnlySpan<byte> data)
    {
        if (data.Length < 18 + 26)
        {
            return false;
        }

        if (data[^18..^2].SequenceEqual("TRUEVISION-XFILE"u8))
        {
            return true;
        }

        var colourMapType = data[1];
        var imageType = data[2];
        var colourMapLength = BinaryPrimitives.ReadUInt16LittleEndian(data[5..]);
        var colourMapDepth = data[7];
        var width = BinaryPrimitives.ReadUInt16LittleEndian(data[12..]);
        var height = BinaryPrimitives.ReadUInt16LittleEndian(data[14..]);
        var depth = data[16];
        var descriptor = data[17];
        var mapped = imageType is 1 or 9;
        return imageType is 1 or 2 or 3 or 9 or 10 or 11
            && colourMapType == (mapped ? 1 : 0)
            && (mapped ? colourMapLength > 0 && colourMapDepth is 15 or 16 or 24 or 32 : colourMapLength == 0 && colourMapDepth == 0)
            && width > 0 && height > 0
            && depth is 8 or 15 or 16 or 24 or 32
            && (descriptor & 0xC0) == 0;
    }
}
