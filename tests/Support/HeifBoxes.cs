using System.Buffers.Binary;

namespace Asgilook.Tests;

/// <summary>
/// Edits the ISO BMFF boxes of a HEIF file made by heif-enc: gives its primary image an <c>irot</c>
/// (the rotation an iPhone records for a portrait photo, which heif-enc has no option for), or rewrites
/// the size its <c>ispe</c> declares. Enough of HEIF for the tests, no more: one meta box before the mdat.
/// </summary>
public static class HeifBoxes
{
    /// <summary>Adds an essential <c>irot</c> property (<paramref name="quarterTurns"/> × 90° anticlockwise) to the primary item.</summary>
    public static byte[] AddRotation(byte[] original, int quarterTurns)
    {
        var heif = (byte[])original.Clone();
        var meta = Child(heif, 0, heif.Length, "meta");
        var children = meta.Start + 12; // a full box: version and flags after the header
        var primary = BinaryPrimitives.ReadUInt16BigEndian(heif.AsSpan(Child(heif, children, meta.End, "pitm").Start + 12));
        var iprp = Child(heif, children, meta.End, "iprp");
        var ipco = Child(heif, iprp.Start + 8, iprp.End, "ipco");
        var ipma = Child(heif, iprp.Start + 8, iprp.End, "ipma");
        Assert.True(ipma.Start > ipco.Start, "heif-enc writes the ipma after the ipco");
        var properties = 0;
        for (var at = ipco.Start + 8; at < ipco.End; at += (int)BinaryPrimitives.ReadUInt32BigEndian(heif.AsSpan(at)))
        {
            properties++;
        }

        byte[] irot = [0, 0, 0, 9, (byte)'i', (byte)'r', (byte)'o', (byte)'t', (byte)(quarterTurns & 3)];
        var (association, insertAt) = Association(heif, ipma, primary, properties + 1);
        var grown = irot.Length + association.Length;

        using var output = new MemoryStream();
        output.Write(heif, 0, ipco.End);
        output.Write(irot);
        output.Write(heif, ipco.End, insertAt - ipco.End);
        output.Write(association);
        output.Write(heif, insertAt, heif.Length - insertAt);
        var edited = output.ToArray();

        Grow(edited, meta.Start, grown);
        Grow(edited, iprp.Start, grown);
        Grow(edited, ipco.Start, irot.Length);
        Grow(edited, ipma.Start + irot.Length, association.Length);
        var iloc = Child(edited, children, meta.End + grown, "iloc");
        ShiftOffsets(edited, iloc, grown); // the mdat moved by as much as the meta box grew
        return edited;
    }

    /// <summary>Rewrites every <c>ispe</c> (image spatial extents) to declare width × height.</summary>
    public static byte[] Declare(byte[] heif, uint width, uint height)
    {
        var edited = (byte[])heif.Clone();
        var meta = Child(edited, 0, edited.Length, "meta");
        var iprp = Child(edited, meta.Start + 12, meta.End, "iprp");
        var ipco = Child(edited, iprp.Start + 8, iprp.End, "ipco");
        for (var at = ipco.Start + 8; at < ipco.End; at += (int)BinaryPrimitives.ReadUInt32BigEndian(edited.AsSpan(at)))
        {
            if (edited.AsSpan(at + 4, 4).SequenceEqual("ispe"u8))
            {
                BinaryPrimitives.WriteUInt32BigEndian(edited.AsSpan(at + 12), width);
                BinaryPrimitives.WriteUInt32BigEndian(edited.AsSpan(at + 16), height);
            }
        }

        return edited;
    }

    private static (int Start, int End) Child(byte[] data, int from, int to, string type)
    {
        for (var at = from; at + 8 <= to;)
        {
            var size = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
            if (data.AsSpan(at + 4, 4).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(type)))
            {
                return (at, at + size);
            }

            at += size;
        }

        throw new InvalidOperationException($"No {type} box: not a file heif-enc made?");
    }

    /// <summary>The bytes of one more association for <paramref name="item"/>, and where in the ipma they go.</summary>
    private static (byte[] Bytes, int At) Association(byte[] data, (int Start, int End) ipma, ushort item, int propertyIndex)
    {
        var version = data[ipma.Start + 8];
        var wide = (data[ipma.Start + 11] & 1) != 0;
        var entries = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(ipma.Start + 12));
        var at = ipma.Start + 16;
        for (var entry = 0; entry < entries; entry++)
        {
            var id = version < 1 ? BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
            at += version < 1 ? 2 : 4;
            var count = data[at];
            var end = at + 1 + (count * (wide ? 2 : 1));
            if (id == item)
            {
                data[at]++; // one more association
                byte[] bytes = wide ? [(byte)(0x80 | (propertyIndex >> 8)), (byte)propertyIndex] : [(byte)(0x80 | propertyIndex)];
                return (bytes, end);
            }

            at = end;
        }

        throw new InvalidOperationException($"The ipma has no entry for item {item}.");
    }

    private static void Grow(byte[] data, int box, int by) =>
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(box), BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(box)) + (uint)by);

    private static void ShiftOffsets(byte[] data, (int Start, int End) iloc, int by)
    {
        var version = data[iloc.Start + 8];
        var at = iloc.Start + 12;
        var offsetSize = data[at] >> 4;
        var lengthSize = data[at] & 15;
        var baseOffsetSize = data[at + 1] >> 4;
        var indexSize = version >= 1 ? data[at + 1] & 15 : 0;
        at += 2;
        var items = version < 2 ? BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at)) : (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
        at += version < 2 ? 2 : 4;
        for (var item = 0; item < items; item++)
        {
            at += version < 2 ? 2 : 4; // item id
            var method = 0;
            if (version >= 1)
            {
                method = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at)) & 15;
                at += 2;
            }

            at += 2; // data reference index
            var shifted = method == 0 && baseOffsetSize > 0 && Add(data, at, baseOffsetSize, by);
            at += baseOffsetSize;
            var extents = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at));
            at += 2;
            for (var extent = 0; extent < extents; extent++)
            {
                at += indexSize;
                if (method == 0 && !shifted)
                {
                    Add(data, at, offsetSize, by);
                }

                at += offsetSize + lengthSize;
            }
        }
    }

    private static bool Add(byte[] data, int at, int size, int by)
    {
        if (size == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at)) + (uint)by);
        }
        else if (size == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(at), BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(at)) + (ulong)by);
        }

        return size is 4 or 8;
    }
}
