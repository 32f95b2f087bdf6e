using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// The size an upload's header declares, read by this managed code alone (no decoder runs in the server):
/// what the server counts an upload's work by (rate limits, the conversion queue) and refuses past
/// <c>MaxPixels</c> before a worker sees it. A header can lie, and the worker holds to its own limits
/// whatever it finds; where a format's header is not read here, the size is unknown and the upload
/// counts as the largest allowed.
/// </summary>
public static partial class DeclaredSize
{
    /// <summary>Width and height, or null when the header is not read here or too short.</summary>
    public static (long Width, long Height)? Of(Format format, ReadOnlySpan<byte> data)
    {
        try
        {
            return format.Loader switch
            {
                ImageLoader.Jpeg => Jpeg(data),
                ImageLoader.Png when data.Length >= 24 => (BinaryPrimitives.ReadUInt32BigEndian(data[16..]), BinaryPrimitives.ReadUInt32BigEndian(data[20..])),
                ImageLoader.Gif when data.Length >= 10 => (BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), BinaryPrimitives.ReadUInt16LittleEndian(data[8..])),
                ImageLoader.Webp => Webp(data),
                ImageLoader.Tiff => Tiff(data),
                ImageLoader.Heif => Heif(data),
                ImageLoader.Bmp or ImageLoader.Tga or ImageLoader.Pnm => FileStructure.DeclaredSize(format.Loader, data),
                ImageLoader.Psd when data.Length >= 22 => (BinaryPrimitives.ReadUInt32BigEndian(data[18..]), BinaryPrimitives.ReadUInt32BigEndian(data[14..])),
                ImageLoader.Ico => Icon(data),
                ImageLoader.Jpeg2000 => Jpeg2000(data),
                ImageLoader.Svg => Svg(data),
                _ => null,
            };
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or RegexMatchTimeoutException)
        {
            return null;
        }
    }

    /// <summary>The largest frame header (SOF) of a JPEG.</summary>
    private static (long, long)? Jpeg(ReadOnlySpan<byte> jpeg)
    {
        var at = 2;
        while (at + 9 < jpeg.Length && jpeg[at] == 0xFF)
        {
            var marker = jpeg[at + 1];
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7) or 0xFF)
            {
                at += marker == 0xFF ? 1 : 2;
                continue;
            }

            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC))
            {
                return (BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 5)..]));
            }

            if (marker == 0xDA)
            {
                return null; // a scan before any frame header
            }

            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
        }

        return null;
    }

    private static (long, long)? Webp(ReadOnlySpan<byte> webp)
    {
        var chunk = webp.Slice(12, 4);
        if (chunk.SequenceEqual("VP8X"u8))
        {
            return (1 + ReadUInt24(webp[24..]), 1 + ReadUInt24(webp[27..]));
        }

        if (chunk.SequenceEqual("VP8L"u8))
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(webp[21..]);
            return (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF));
        }

        if (chunk.SequenceEqual("VP8 "u8))
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(webp[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(webp[28..]) & 0x3FFF);
        }

        return null;
    }

    private static long ReadUInt24(ReadOnlySpan<byte> data) => data[0] | (data[1] << 8) | (data[2] << 16);

    /// <summary>The first image's ImageWidth and ImageLength (classic TIFF; BigTIFF is not read here).</summary>
    private static (long, long)? Tiff(ReadOnlySpan<byte> tiff)
    {
        var little = tiff[0] == 'I';
        if (tiff[2] == 0x2B || tiff[3] == 0x2B)
        {
            return null;
        }

        var directory = (int)U32(tiff, 4, little);
        var entries = U16(tiff, directory, little);
        long? width = null, height = null;
        for (var i = 0; i < entries; i++)
        {
            var entry = directory + 2 + (12 * i);
            var tag = U16(tiff, entry, little);
            var value = U16(tiff, entry + 2, little) == 3 ? U16(tiff, entry + 8, little) : U32(tiff, entry + 8, little);
            if (tag == 256)
            {
                width = value;
            }
            else if (tag == 257)
            {
                height = value;
            }
        }

        return width is { } w && height is { } h ? (w, h) : null;
    }

    private static uint U32(ReadOnlySpan<byte> data, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt32BigEndian(data[at..]);

    private static ushort U16(ReadOnlySpan<byte> data, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt16BigEndian(data[at..]);

    /// <summary>The largest image spatial extent ('ispe') in a HEIF's 'meta' box: the primary image's, or its grid's.</summary>
    private static (long, long)? Heif(ReadOnlySpan<byte> heif)
    {
        var meta = TopLevelBox(heif, "meta"u8);

        (long, long)? largest = null;
        var at = meta.IndexOf("ispe"u8);
        while (at >= 4 && at + 16 <= meta.Length)
        {
            var width = BinaryPrimitives.ReadUInt32BigEndian(meta[(at + 8)..]);
            var height = BinaryPrimitives.ReadUInt32BigEndian(meta[(at + 12)..]);
            if (largest is not var (w, h) || (long)width * height > w * h)
            {
                largest = (width, height);
            }

            var next = meta[(at + 4)..].IndexOf("ispe"u8);
            at = next < 0 ? -1 : at + 4 + next;
        }

        return largest;
    }

    /// <summary>The contents of the first top-level ISO BMFF box of a type (HEIF, JP2), walking the boxes by their sizes.</summary>
    private static ReadOnlySpan<byte> TopLevelBox(ReadOnlySpan<byte> file, ReadOnlySpan<byte> type)
    {
        for (long at = 0; at + 8 <= file.Length;)
        {
            long size = BinaryPrimitives.ReadUInt32BigEndian(file[(int)at..]);
            var header = 8;
            if (size == 1 && at + 16 <= file.Length)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(file[(int)(at + 8)..]);
                header = 16;
            }
            else if (size == 0)
            {
                size = file.Length - at;
            }

            if (size < header || at + size > file.Length)
            {
                return [];
            }

            if (file.Slice((int)at + 4, 4).SequenceEqual(type))
            {
                return file.Slice((int)at + header, (int)size - header);
            }

            at += size;
        }

        return [];
    }

    /// <summary>An icon's largest entry (0 in the directory means 256; an entry that is a PNG says its own size).</summary>
    private static (long, long)? Icon(ReadOnlySpan<byte> icon)
    {
        var count = BinaryPrimitives.ReadUInt16LittleEndian(icon[4..]);
        (long, long)? largest = null;
        for (var i = 0; i < count && 6 + (16 * (i + 1)) <= icon.Length; i++)
        {
            var entry = icon[(6 + (16 * i))..];
            long width = entry[0] == 0 ? 256 : entry[0];
            long height = entry[1] == 0 ? 256 : entry[1];
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(entry[12..]);
            if (offset + 24 <= icon.Length && icon.Slice((int)offset, 8).SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
            {
                width = BinaryPrimitives.ReadUInt32BigEndian(icon[((int)offset + 16)..]);
                height = BinaryPrimitives.ReadUInt32BigEndian(icon[((int)offset + 20)..]);
            }

            if (largest is not var (w, h) || width * height > w * h)
            {
                largest = (width, height);
            }
        }

        return largest;
    }

    /// <summary>A JP2's image header box ('ihdr'), or a raw codestream's SIZ marker.</summary>
    private static (long, long)? Jpeg2000(ReadOnlySpan<byte> jp2)
    {
        if (jp2[0] == 0xFF && jp2[1] == 0x4F)
        {
            return (BinaryPrimitives.ReadUInt32BigEndian(jp2[8..]) - BinaryPrimitives.ReadUInt32BigEndian(jp2[16..]),
                BinaryPrimitives.ReadUInt32BigEndian(jp2[12..]) - BinaryPrimitives.ReadUInt32BigEndian(jp2[20..]));
        }

        var header = TopLevelBox(jp2, "jp2h"u8);
        var at = header.IndexOf("ihdr"u8);
        return at < 0 || at + 12 > header.Length
            ? null
            : (BinaryPrimitives.ReadUInt32BigEndian(header[(at + 8)..]), BinaryPrimitives.ReadUInt32BigEndian(header[(at + 4)..]));
    }

    /// <summary>An SVG's width and height attributes in pixels (plain numbers or px), else its viewBox's.</summary>
    private static (long, long)? Svg(ReadOnlySpan<byte> svg)
    {
        var head = Encoding.UTF8.GetString(svg[..Math.Min(svg.Length, 8192)]);
        var root = SvgRoot().Match(head);
        if (!root.Success)
        {
            return null;
        }

        var tag = root.Value;
        if (Length(tag, "width") is { } width && Length(tag, "height") is { } height)
        {
            return (width, height);
        }

        var box = ViewBox().Match(tag);
        return box.Success && double.TryParse(box.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var boxWidth)
            && double.TryParse(box.Groups[2].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var boxHeight)
            ? ((long)Math.Ceiling(boxWidth), (long)Math.Ceiling(boxHeight))
            : null;
    }

    private static long? Length(string tag, string name)
    {
        var match = Regex.Match(tag, $@"\s{name}\s*=\s*[""']\s*([0-9.]+)\s*(px)?\s*[""']", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
        return match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? (long)Math.Ceiling(value)
            : null;
    }

    [GeneratedRegex(@"<svg\b[^>]*>", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 50)]
    private static partial Regex SvgRoot();

    [GeneratedRegex(@"\sviewBox\s*=\s*[""']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*[""']", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 50)]
    private static partial Regex ViewBox();
}
