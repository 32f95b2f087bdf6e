using System.Buffers.Binary;

namespace Asgilook.Imaging;

/// <summary>
/// ImageSharp 2.1 has no colour management, so its engine converts embedded ICC profiles here: the
/// matrix/TRC kind that cameras, phones and editors write for RGB (Display P3, Adobe RGB, ProPhoto, sRGB)
/// and grey images. Each channel goes through its tone curve to linear light, through the profile's
/// primaries to the D50 connection space, and from there to sRGB: the colorimetric conversion every CMM
/// makes for such profiles. Profiles built from lookup tables only (CMYK, most printer profiles) are not
/// read here: <see cref="TryParse"/> says no.
/// </summary>
public sealed class IccMatrixProfile
{
    // XYZ (D50) to linear sRGB, the sRGB primaries Bradford-adapted to D50 as the ICC connection space is.
    private static readonly double[,] XyzD50ToLinearSrgb =
    {
        { 3.1338561, -1.6168667, -0.4906146 },
        { -0.9787684, 1.9161415, 0.0334540 },
        { 0.0719453, -0.2289914, 1.4052427 },
    };

    private const int EncodeSteps = 4096;
    private static readonly byte[] SrgbEncode = BuildEncode();

    private readonly float[][] _linear; // per channel: 8-bit value to linear light
    private readonly float[,] _toLinearSrgb; // 3×3 for RGB; unused for grey

    private IccMatrixProfile(bool grey, float[][] linear, float[,] toLinearSrgb)
    {
        IsGrey = grey;
        _linear = linear;
        _toLinearSrgb = toLinearSrgb;
    }

    public bool IsGrey { get; }

    /// <summary>A matrix/TRC RGB or grey profile, or null with the reason it is another kind.</summary>
    public static IccMatrixProfile? TryParse(byte[] icc, out string kind)
    {
        kind = "unreadable";
        try
        {
            return Parse(icc, out kind);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>Converts 8-bit R, G, B (in place) to sRGB.</summary>
    public void ToSrgb(Span<byte> rgb)
    {
        var m = _toLinearSrgb;
        for (var i = 0; i + 2 < rgb.Length; i += 3)
        {
            float r, g, b;
            if (IsGrey)
            {
                r = g = b = _linear[0][rgb[i]];
            }
            else
            {
                var lr = _linear[0][rgb[i]];
                var lg = _linear[1][rgb[i + 1]];
                var lb = _linear[2][rgb[i + 2]];
                r = (m[0, 0] * lr) + (m[0, 1] * lg) + (m[0, 2] * lb);
                g = (m[1, 0] * lr) + (m[1, 1] * lg) + (m[1, 2] * lb);
                b = (m[2, 0] * lr) + (m[2, 1] * lg) + (m[2, 2] * lb);
            }

            rgb[i] = Encode(r);
            rgb[i + 1] = Encode(g);
            rgb[i + 2] = Encode(b);
        }
    }

    private static IccMatrixProfile? Parse(byte[] icc, out string kind)
    {
        var data = icc.AsSpan();
        var space = System.Text.Encoding.ASCII.GetString(data.Slice(16, 4)).Trim();
        var connection = System.Text.Encoding.ASCII.GetString(data.Slice(20, 4)).Trim();
        kind = $"{space} to {connection}";
        var tags = Tags(data);
        if (connection != "XYZ")
        {
            return null;
        }

        if (space == "GRAY" && tags.TryGetValue("kTRC", out var grey))
        {
            kind = "grey tone curve";
            return new IccMatrixProfile(true, [Curve(data, grey)], new float[3, 3]);
        }

        string[] needed = ["rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC"];
        if (space != "RGB" || !needed.All(tags.ContainsKey))
        {
            kind = space == "RGB" ? "RGB lookup-table" : space;
            return null;
        }

        kind = "RGB matrix";
        var primaries = new double[3, 3];
        string[] columns = ["rXYZ", "gXYZ", "bXYZ"];
        for (var column = 0; column < 3; column++)
        {
            var xyz = Xyz(data, tags[columns[column]]);
            for (var row = 0; row < 3; row++)
            {
                primaries[row, column] = xyz[row];
            }
        }

        var combined = new float[3, 3];
        for (var row = 0; row < 3; row++)
        {
            for (var column = 0; column < 3; column++)
            {
                double sum = 0;
                for (var k = 0; k < 3; k++)
                {
                    sum += XyzD50ToLinearSrgb[row, k] * primaries[k, column];
                }

                combined[row, column] = (float)sum;
            }
        }

        return new IccMatrixProfile(false, [Curve(data, tags["rTRC"]), Curve(data, tags["gTRC"]), Curve(data, tags["bTRC"])], combined);
    }

    private static Dictionary<string, (int Offset, int Size)> Tags(ReadOnlySpan<byte> data)
    {
        var count = BinaryPrimitives.ReadUInt32BigEndian(data[128..]);
        var tags = new Dictionary<string, (int, int)>();
        for (var i = 0; i < Math.Min(count, 256u); i++)
        {
            var entry = data.Slice(132 + (i * 12), 12);
            var offset = checked((int)BinaryPrimitives.ReadUInt32BigEndian(entry[4..]));
            var size = checked((int)BinaryPrimitives.ReadUInt32BigEndian(entry[8..]));
            _ = data.Slice(offset, size); // inside the profile, or out of range
            tags.TryAdd(System.Text.Encoding.ASCII.GetString(entry[..4]), (offset, size));
        }

        return tags;
    }

    private static double[] Xyz(ReadOnlySpan<byte> data, (int Offset, int Size) tag)
    {
        var xyz = data.Slice(tag.Offset, 20);
        return [Fixed16(xyz[8..]), Fixed16(xyz[12..]), Fixed16(xyz[16..])];
    }

    /// <summary>A tone curve ('curv' table or gamma, or 'para' function) sampled at the 256 8-bit values.</summary>
    private static float[] Curve(ReadOnlySpan<byte> data, (int Offset, int Size) tag)
    {
        var curve = data.Slice(tag.Offset, tag.Size);
        var type = System.Text.Encoding.ASCII.GetString(curve[..4]);
        var lut = new float[256];
        if (type == "curv")
        {
            var points = (int)BinaryPrimitives.ReadUInt32BigEndian(curve[8..]);
            var table = curve.Slice(12, points * 2);
            for (var v = 0; v < 256; v++)
            {
                var x = v / 255.0;
                lut[v] = (float)(points switch
                {
                    0 => x,
                    1 => Math.Pow(x, BinaryPrimitives.ReadUInt16BigEndian(table) / 256.0),
                    _ => Interpolate(table, points, x),
                });
            }

            return lut;
        }

        if (type != "para")
        {
            throw new ArgumentOutOfRangeException(nameof(tag), "not a tone curve");
        }

        var function = BinaryPrimitives.ReadUInt16BigEndian(curve[8..]);
        var p = new double[7];
        var parameters = function switch { 0 => 1, 1 => 3, 2 => 4, 3 => 5, 4 => 7, _ => throw new ArgumentOutOfRangeException(nameof(tag)) };
        for (var i = 0; i < parameters; i++)
        {
            p[i] = Fixed16(curve[(12 + (i * 4))..]);
        }

        var (g, a, b, c, d, e, f) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        for (var v = 0; v < 256; v++)
        {
            var x = v / 255.0;
            lut[v] = (float)(function switch
            {
                0 => Math.Pow(x, g),
                1 => x >= -b / a ? Math.Pow((a * x) + b, g) : 0,
                2 => x >= -b / a ? Math.Pow((a * x) + b, g) + c : c,
                3 => x >= d ? Math.Pow((a * x) + b, g) : c * x,
                _ => x >= d ? Math.Pow((a * x) + b, g) + e : (c * x) + f,
            });
        }

        return lut;
    }

    private static double Interpolate(ReadOnlySpan<byte> table, int points, double x)
    {
        var position = x * (points - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, points - 1);
        var lowValue = BinaryPrimitives.ReadUInt16BigEndian(table[(low * 2)..]) / 65535.0;
        var highValue = BinaryPrimitives.ReadUInt16BigEndian(table[(high * 2)..]) / 65535.0;
        return lowValue + ((highValue - lowValue) * (position - low));
    }

    private static double Fixed16(ReadOnlySpan<byte> value) => BinaryPrimitives.ReadInt32BigEndian(value) / 65536.0;

    private static byte Encode(float linear)
    {
        var index = (int)(Math.Clamp(linear, 0f, 1f) * (EncodeSteps - 1) + 0.5f);
        return SrgbEncode[index];
    }

    private static byte[] BuildEncode()
    {
        var table = new byte[EncodeSteps];
        for (var i = 0; i < EncodeSteps; i++)
        {
            var linear = i / (double)(EncodeSteps - 1);
            var encoded = linear <= 0.0031308 ? 12.92 * linear : (1.055 * Math.Pow(linear, 1 / 2.4)) - 0.055;
            table[i] = (byte)Math.Clamp(Math.Round(encoded * 255), 0, 255);
        }

        return table;
    }
}
