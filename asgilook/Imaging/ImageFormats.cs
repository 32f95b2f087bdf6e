using System.Text.Unicode;

namespace Asgilook.Imaging;

/// <summary>
/// Recognises file formats by their magic bytes, to tell a client what it sent when it is refused:
/// a corrupt PNG, a BMP (a format Asgilook does not read), or a text file.
/// </summary>
public static class ImageFormats
{
    /// <summary>The loader a supported format is read with; <see cref="ImageLoader.None"/> for one Asgilook does not read.</summary>
    public enum ImageLoader { None, Jpeg, Png, Gif, Webp, Tiff, Heif, Svg }

    public sealed record Format(string Name, ImageLoader Loader)
    {
        public bool Supported => Loader is not ImageLoader.None;
    }

    /// <summary>The formats the bundled libvips reads, named for clients.</summary>
    public const string SupportedNames = "JPEG, PNG, GIF, WebP, TIFF, HEIF/AVIF or SVG";

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
        ("BM"u8.ToArray(), 0, new("BMP", ImageLoader.None)),
        ("%PDF"u8.ToArray(), 0, new("PDF", ImageLoader.None)),
        ("8BPS"u8.ToArray(), 0, new("Photoshop (PSD)", ImageLoader.None)),
        ([0x00, 0x00, 0x01, 0x00], 0, new("ICO", ImageLoader.None)),
        ([0xFF, 0x0A], 0, new("JPEG XL", ImageLoader.None)),
        ([0x00, 0x00, 0x00, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' '], 0, new("JPEG XL", ImageLoader.None)),
        ([0x00, 0x00, 0x00, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' '], 0, new("JPEG 2000", ImageLoader.None)),
        ("qoif"u8.ToArray(), 0, new("QOI", ImageLoader.None)),
    ];

    /// <summary>The format the bytes announce, or null when no signature matches.</summary>
    public static Format? Sniff(ReadOnlySpan<byte> data)
    {
        foreach (var (magic, offset, format) in Signatures)
        {
            if (data.Length >= offset + magic.Length && data.Slice(offset, magic.Length).SequenceEqual(magic))
            {
                return format;
            }
        }

        return LooksLikeSvg(data) ? new Format("SVG", ImageLoader.Svg) : null;
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

    private static bool LooksLikeSvg(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(data.Length, 1024)];
        return head.IndexOf("<svg"u8) >= 0;
    }
}
