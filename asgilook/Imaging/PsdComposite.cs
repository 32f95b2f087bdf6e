using System.Buffers.Binary;

namespace Asgilook.Imaging;

/// <summary>
/// A Photoshop file ends with its flattened composite, which is what Asgilook stores. ImageMagick decodes a
/// PSD whose composite was cut short as a grey picture without a word, so its sections are walked here
/// first: every section length must fit in the file, and so must the composite's pixel data.
/// </summary>
public static class PsdComposite
{
    private const int HeaderLength = 26;

    /// <summary>Whether the whole composite is present (the section lengths say where it ends).</summary>
    public static bool IsComplete(ReadOnlySpan<byte> psd)
    {
        if (psd.Length < HeaderLength)
        {
            return false;
        }

        var large = BinaryPrimitives.ReadUInt16BigEndian(psd[4..]) == 2; // PSB: 64-bit lengths in places
        long channels = BinaryPrimitives.ReadUInt16BigEndian(psd[12..]);
        long height = BinaryPrimitives.ReadUInt32BigEndian(psd[14..]);
        long width = BinaryPrimitives.ReadUInt32BigEndian(psd[18..]);
        long depth = BinaryPrimitives.ReadUInt16BigEndian(psd[22..]);
        long at = HeaderLength;
        if (!Skip(psd, ref at, 4) || !Skip(psd, ref at, 4) || !Skip(psd, ref at, large ? 8 : 4) || at + 2 > psd.Length)
        {
            return false;
        }

        var compression = BinaryPrimitives.ReadUInt16BigEndian(psd[(int)at..]);
        at += 2;
        var rows = channels * height;
        var rest = psd.Length - at;
        switch (compression)
        {
            case 0:
                return rows * (((width * depth) + 7) / 8) <= rest;
            case 1:
                var countBytes = large ? 4 : 2;
                if (rows * countBytes > rest)
                {
                    return false;
                }

                long packed = 0;
                for (var row = 0; row < rows; row++)
                {
                    var count = psd[(int)(at + (row * countBytes))..];
                    packed += large ? BinaryPrimitives.ReadUInt32BigEndian(count) : BinaryPrimitives.ReadUInt16BigEndian(count);
                }

                return (rows * countBytes) + packed <= rest;
            default:
                return rest > 0;
        }
    }

    private static bool Skip(ReadOnlySpan<byte> psd, ref long at, int lengthBytes)
    {
        if (at + lengthBytes > psd.Length)
        {
            return false;
        }

        var length = lengthBytes == 8
            ? (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(psd[(int)at..]), long.MaxValue / 2)
            : BinaryPrimitives.ReadUInt32BigEndian(psd[(int)at..]);
        at += lengthBytes + length;
        return at <= psd.Length;
    }
}
