using System.Buffers.Binary;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Imaging;

/// <summary>
/// Whether a file reaches its own end: JPEG to its end-of-image marker, PNG to IEND, GIF to its trailer,
/// WebP to the size its RIFF header gives, uncompressed BMP, TGA and binary PNM to the last byte of their
/// pixels. ImageSharp 2.1 decodes a truncated file without a word, painting what is missing, where libvips
/// (failing on truncation) refuses it; the ImageSharp engine asks here first so both refuse the same files.
/// A walk over the file's structure, never its pixels.
/// </summary>
public static class FileStructure
{
    /// <summary>False when the file ends before its structure does; true when whole or not checked for this format.</summary>
    public static bool IsComplete(ImageLoader loader, ReadOnlySpan<byte> data)
    {
        try
        {
            return loader switch
            {
                ImageLoader.Jpeg => JpegIsComplete(data),
                ImageLoader.Png => PngIsComplete(data),
                ImageLoader.Gif => GifIsComplete(data),
                ImageLoader.Webp => data.Length >= 12 && 8L + BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) <= data.Length,
                ImageLoader.Bmp => BmpIsComplete(data),
                ImageLoader.Tga => TgaIsComplete(data),
                ImageLoader.Pnm => PnmIsComplete(data),
                _ => true,
            };
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return false; // a length that points past the end
        }
    }

    /// <summary>
    /// The size BMP, TGA and binary or plain PNM headers declare, read here because ImageSharp 2.1's own
    /// reading of them cannot be trusted with hostile numbers (a TGA's 65535 comes back as -1); null for other formats.
    /// </summary>
    public static (long Width, long Height)? DeclaredSize(ImageLoader loader, ReadOnlySpan<byte> data)
    {
        try
        {
            switch (loader)
            {
                case ImageLoader.Bmp when BinaryPrimitives.ReadInt32LittleEndian(data[14..]) >= 40:
                    return (Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[18..])), Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[22..])));
                case ImageLoader.Bmp:
                    return (BinaryPrimitives.ReadUInt16LittleEndian(data[18..]), BinaryPrimitives.ReadUInt16LittleEndian(data[20..]));
                case ImageLoader.Tga:
                    return (BinaryPrimitives.ReadUInt16LittleEndian(data[12..]), BinaryPrimitives.ReadUInt16LittleEndian(data[14..]));
                case ImageLoader.Pnm:
                    var at = 2;
                    var width = Number(data, ref at);
                    return (width, Number(data, ref at));
                default:
                    return null;
            }
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return (0, 0); // too short to hold a header
        }
    }

    private static bool JpegIsComplete(ReadOnlySpan<byte> jpeg) => JpegEnd(jpeg) >= 0;

    /// <summary>
    /// Where the entropy-coded data starting at <paramref name="at"/> ends: at the next marker that is neither a stuffed
    /// zero nor a restart (or the end). The search jumps from 0xFF to 0xFF (a vectorised search), not byte by byte.
    /// </summary>
    private static int NextMarker(ReadOnlySpan<byte> jpeg, int at)
    {
        while (at + 1 < jpeg.Length)
        {
            var found = jpeg[at..^1].IndexOf((byte)0xFF);
            if (found < 0)
            {
                return jpeg.Length - 1;
            }

            at += found;
            if (jpeg[at + 1] is not 0x00 and not (>= 0xD0 and <= 0xD7))
            {
                return at;
            }

            at++;
        }

        return at;
    }

    /// <summary>Where a JPEG's end-of-image marker ends (the offset after it); -1 when the file stops before one.</summary>
    private static int JpegEnd(ReadOnlySpan<byte> jpeg)
    {
        var at = 2;
        while (at + 4 <= jpeg.Length)
        {
            if (jpeg[at] != 0xFF)
            {
                return -1;
            }

            var marker = jpeg[at + 1];
            if (marker == 0xFF)
            {
                at++; // fill byte
                continue;
            }

            if (marker == 0xD9)
            {
                return at + 2;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
            at += 2 + length;
            if (marker != 0xDA)
            {
                continue;
            }

            at = NextMarker(jpeg, at);
        }

        return at + 2 <= jpeg.Length && jpeg[at] == 0xFF && jpeg[at + 1] == 0xD9 ? at + 2 : -1;
    }

    /// <summary>
    /// Whether the bytes are exactly one whole file as an encoder writes it, nothing missing and nothing after:
    /// a JPEG from its start marker to its end marker, a WebP as long as its RIFF header says, an AVIF (or other
    /// ISO BMFF file) whose top-level boxes end where the bytes do. For the formats Asgilook encodes; false for others.
    /// </summary>
    public static bool IsExactlyOneFile(ImageLoader loader, ReadOnlySpan<byte> data)
    {
        try
        {
            return loader switch
            {
                ImageLoader.Jpeg => data.Length >= 4 && data[0] == 0xFF && data[1] == 0xD8 && JpegEnd(data) == data.Length,
                ImageLoader.Webp => data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8)
                    && 8L + BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) == data.Length,
                ImageLoader.Heif => BoxesFill(data),
                _ => false,
            };
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the bytes are one JPEG as Asgilook's encoders write it, of exactly this size: 8-bit, one or three
    /// components, baseline or progressive Huffman coding, nothing after its end. What a conversion worker answers
    /// must be this before the server keeps it and later decodes it for thumbnails: the server's JPEG decoder then
    /// never meets the arithmetic, lossless, hierarchical or 12-bit code paths a hostile file would aim at.
    /// </summary>
    public static bool IsPlainJpeg(ReadOnlySpan<byte> jpeg, int width, int height)
    {
        if (!IsExactlyOneFile(ImageLoader.Jpeg, jpeg))
        {
            return false;
        }

        var frames = 0;
        var at = 2;
        while (at + 2 <= jpeg.Length)
        {
            var marker = jpeg[at + 1];
            if (marker == 0xD9)
            {
                return frames == 1;
            }

            if (at + 4 > jpeg.Length)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
            switch (marker)
            {
                case 0xC0 or 0xC1 or 0xC2:
                    var frame = jpeg.Slice(at + 4, length - 2);
                    if (frame[0] != 8 || BinaryPrimitives.ReadUInt16BigEndian(frame[1..]) != height
                        || BinaryPrimitives.ReadUInt16BigEndian(frame[3..]) != width || frame[5] is not (1 or 3))
                    {
                        return false;
                    }

                    frames++;
                    break;
                case 0xC4 or 0xDB or 0xDD or 0xDA or 0xFE or (>= 0xE0 and <= 0xEF):
                    break; // tables, restart interval, a scan, a comment, application data
                default:
                    return false; // other frame types, arithmetic coding tables, DNL, hierarchical markers
            }

            at += 2 + length;
            if (marker == 0xDA)
            {
                at = NextMarker(jpeg, at);
            }
        }

        return false;
    }

    /// <summary>
    /// <see cref="IsExactlyOneFile"/> for a file on disk, reading only what tells: a JPEG's first and last two bytes,
    /// a WebP's RIFF header, an AVIF's top-level box headers. A render is checked whole once, when it is written;
    /// this tells on every read, at the cost of a few small reads, whether the file is still the one written
    /// (truncated, emptied or replaced files are not), however large it is.
    /// </summary>
    public static bool LooksWhole(ImageLoader loader, Stream file)
    {
        var length = file.Length;
        Span<byte> head = stackalloc byte[16];
        Span<byte> tail = stackalloc byte[2];
        try
        {
            if (length < 16 || file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length)
            {
                return false;
            }

            switch (loader)
            {
                case ImageLoader.Jpeg:
                    file.Seek(-2, SeekOrigin.End);
                    file.ReadExactly(tail);
                    return head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF && tail[0] == 0xFF && tail[1] == 0xD9;
                case ImageLoader.Webp:
                    return head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)
                        && 8L + BinaryPrimitives.ReadUInt32LittleEndian(head[4..]) == length;
                case ImageLoader.Heif:
                    if (!head[4..8].SequenceEqual("ftyp"u8))
                    {
                        return false;
                    }

                    for (long at = 0; at < length;)
                    {
                        file.Seek(at, SeekOrigin.Begin);
                        if (length - at < 8 || file.ReadAtLeast(head, 16, throwOnEndOfStream: false) < 8)
                        {
                            return false;
                        }

                        long size = BinaryPrimitives.ReadUInt32BigEndian(head);
                        size = size == 1 ? (long)BinaryPrimitives.ReadUInt64BigEndian(head[8..]) : size == 0 ? length - at : size;
                        if (size < 8 || size > length - at)
                        {
                            return false;
                        }

                        at += size;
                    }

                    return true;
                default:
                    return false;
            }
        }
        finally
        {
            file.Seek(0, SeekOrigin.Begin);
        }
    }

    /// <summary>An ISO BMFF file: a run of top-level boxes, the first an <c>ftyp</c>, ending exactly at the end.</summary>
    private static bool BoxesFill(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8 || !data[4..8].SequenceEqual("ftyp"u8))
        {
            return false;
        }

        long at = 0;
        while (at < data.Length)
        {
            if (data.Length - at < 8)
            {
                return false;
            }

            long size = BinaryPrimitives.ReadUInt32BigEndian(data[(int)at..]);
            if (size == 1 && data.Length - at >= 16)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(data[(int)(at + 8)..]);
            }
            else if (size == 0)
            {
                size = data.Length - at; // the last box runs to the end
            }

            if (size < 8 || size > data.Length - at)
            {
                return false;
            }

            at += size;
        }

        return true;
    }

    /// <summary>
    /// Why a BMP's header cannot be trusted to a decoder; null when it can. ImageSharp 2.1.13 sizes a palette
    /// from the offset of the pixel data (a 40-byte file offset by 2 GiB had it allocate 2 GiB, outside its
    /// capped allocator), so the offset must lie within the file and leave room for no more than a palette
    /// and colour masks; the header size and bit depth must be ones BMP defines.
    /// </summary>
    public static string? BmpProblem(ReadOnlySpan<byte> bmp)
    {
        if (bmp.Length < 26)
        {
            return "its header is cut short";
        }

        var pixelsAt = BinaryPrimitives.ReadUInt32LittleEndian(bmp[10..]);
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(bmp[14..]);
        if (headerSize is not (12 or 16 or 40 or 52 or 56 or 64 or 108 or 124))
        {
            return "its header size is not one BMP defines";
        }

        if (bmp.Length < 14 + Math.Min(headerSize, 40))
        {
            return "its header is cut short";
        }

        var bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(bmp[(headerSize == 12 ? 24 : 28)..]);
        if (bitsPerPixel is not (1 or 2 or 4 or 8 or 16 or 24 or 32))
        {
            return $"its bit depth ({bitsPerPixel}) is not one BMP defines";
        }

        const long LargestPalette = (256 * 4) + 16; // 256 colours and up to four colour masks
        if (pixelsAt < 14 + headerSize || pixelsAt > bmp.Length || pixelsAt - 14 - headerSize > LargestPalette)
        {
            return "the offset of its pixel data does not fit its header and its length";
        }

        return null;
    }

    private static bool PngIsComplete(ReadOnlySpan<byte> png) => FindPngChunk(png, "IEND"u8, stopAt: default) is not null;

    /// <summary>
    /// Where the first chunk of <paramref name="type"/> holds its data (offset, length), walking the chunks by their
    /// lengths; null when the file ends (or reaches a <paramref name="stopAt"/> chunk) first.
    /// </summary>
    public static (int Offset, int Length)? FindPngChunk(ReadOnlySpan<byte> png, ReadOnlySpan<byte> type, ReadOnlySpan<byte> stopAt)
    {
        for (long at = 8; at + 12 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[(int)at..]);
            var chunk = png.Slice((int)at + 4, 4);
            if (chunk.SequenceEqual(type))
            {
                return at + 12 + length <= png.Length ? ((int)at + 8, (int)length) : null;
            }

            if (chunk.SequenceEqual(stopAt))
            {
                return null;
            }

            at += 12L + length;
        }

        return null;
    }

    private static bool GifIsComplete(ReadOnlySpan<byte> gif)
    {
        var at = 13 + ColourTable(gif[10]);
        while (at < gif.Length)
        {
            switch (gif[at])
            {
                case 0x3B:
                    return true;
                case 0x21:
                    at = SkipSubBlocks(gif, at + 2);
                    break;
                case 0x2C:
                    at += 10 + ColourTable(gif[at + 9]) + 1; // descriptor, local table, LZW code size
                    at = SkipSubBlocks(gif, at);
                    break;
                default:
                    return false;
            }
        }

        return false;

        static int ColourTable(byte flags) => (flags & 0x80) != 0 ? 3 << ((flags & 7) + 1) : 0;
    }

    private static int SkipSubBlocks(ReadOnlySpan<byte> gif, int at)
    {
        while (at < gif.Length && gif[at] != 0)
        {
            at += gif[at] + 1;
        }

        return at + 1;
    }

    private static bool BmpIsComplete(ReadOnlySpan<byte> bmp)
    {
        var headerSize = BinaryPrimitives.ReadInt32LittleEndian(bmp[14..]);
        if (headerSize < 40)
        {
            return true; // the old OS/2 header: left to the decoder
        }

        var compression = BinaryPrimitives.ReadInt32LittleEndian(bmp[30..]);
        if (compression is not (0 or 3 or 6))
        {
            return true; // run-length coded: its size is known only by decoding
        }

        long width = BinaryPrimitives.ReadInt32LittleEndian(bmp[18..]);
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(bmp[22..]));
        var bits = BinaryPrimitives.ReadUInt16LittleEndian(bmp[28..]);
        var stride = ((width * bits) + 31) / 32 * 4;
        return BinaryPrimitives.ReadUInt32LittleEndian(bmp[10..]) + (stride * height) <= bmp.Length;
    }

    private static bool TgaIsComplete(ReadOnlySpan<byte> tga)
    {
        var type = tga[2];
        if (type is not (1 or 2 or 3))
        {
            return true; // run-length coded
        }

        var colourMap = tga[1] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(tga[5..]) * (long)((tga[7] + 7) / 8) : 0;
        long width = BinaryPrimitives.ReadUInt16LittleEndian(tga[12..]);
        long height = BinaryPrimitives.ReadUInt16LittleEndian(tga[14..]);
        return 18 + tga[0] + colourMap + (width * height * ((tga[16] + 7) / 8)) <= tga.Length;
    }

    /// <summary>Binary PBM, PGM and PPM (P4, P5, P6): the header's numbers, then exactly the pixels' bytes.</summary>
    private static bool PnmIsComplete(ReadOnlySpan<byte> pnm)
    {
        var kind = pnm[1];
        if (kind is not ((byte)'4' or (byte)'5' or (byte)'6'))
        {
            return true; // plain text: its length depends on its digits
        }

        var at = 2;
        var numbers = new long[kind == '4' ? 2 : 3];
        for (var i = 0; i < numbers.Length; i++)
        {
            numbers[i] = Number(pnm, ref at);
        }

        at++; // the one whitespace byte before the pixels
        var (width, height) = (numbers[0], numbers[1]);
        var bytes = kind switch
        {
            (byte)'4' => (width + 7) / 8 * height,
            (byte)'5' => width * height * (numbers[2] > 255 ? 2 : 1),
            _ => width * height * 3 * (numbers[2] > 255 ? 2 : 1),
        };
        return at + bytes <= pnm.Length;
    }

    private static long Number(ReadOnlySpan<byte> pnm, ref int at)
    {
        while (true)
        {
            if (pnm[at] == '#')
            {
                while (pnm[at] != '\n')
                {
                    at++;
                }
            }
            else if (pnm[at] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                at++;
            }
            else
            {
                break;
            }
        }

        long value = 0;
        while (at < pnm.Length && pnm[at] is >= (byte)'0' and <= (byte)'9' && value < int.MaxValue)
        {
            value = (value * 10) + (pnm[at++] - '0');
        }

        return value;
    }
}
