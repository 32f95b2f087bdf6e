using System.Buffers.Binary;
using System.Text;
using Asgilook.Imaging;

namespace Asgilook.Tests;

/// <summary>
/// The ImageSharp engine's own conversion of matrix/TRC profiles: profiles built here tag by tag with sRGB's
/// primaries and each kind of tone curve an ICC file may hold must map sRGB values to themselves (the curve
/// and the matrix undone exactly), and profiles of other kinds are refused with the reason.
/// </summary>
public sealed class IccMatrixProfileTests
{
    // sRGB's primaries adapted to D50, as every sRGB ICC profile carries them.
    private static readonly double[][] SrgbPrimaries = [[0.4361, 0.2225, 0.0139], [0.3851, 0.7169, 0.0971], [0.1431, 0.0606, 0.7141]];

    private static readonly byte[] Samples = [0, 1, 10, 50, 100, 128, 180, 220, 254, 255];

    public static TheoryData<string> SrgbCurves() => ["para 3", "para 4", "curv table"];

    [Theory]
    [MemberData(nameof(SrgbCurves))]
    public void AnSrgbProfileMapsEveryValueToItself(string curve)
    {
        var profile = IccMatrixProfile.TryParse(Rgb(Curve(curve)), out var kind);

        Assert.NotNull(profile);
        Assert.Equal("RGB matrix", kind);
        foreach (var value in Samples)
        {
            var rgb = new byte[] { value, value, value, value, 0, 255 };
            profile.ToSrgb(rgb);
            Assert.InRange(rgb[0], value - 1, value + 1);
            Assert.InRange(rgb[3], value - 1, value + 1);
        }
    }

    [Fact]
    public void AGammaCurveIsRaisedToItsPowerAndAnEmptyCurveIsLinear()
    {
        var gamma = IccMatrixProfile.TryParse(Rgb(Curve("curv gamma 1.0")), out _);
        var linear = IccMatrixProfile.TryParse(Rgb(Curve("curv empty")), out _);
        var para0 = IccMatrixProfile.TryParse(Rgb(Curve("para 0 gamma 1.0")), out _);

        foreach (var profile in new[] { gamma, linear, para0 })
        {
            var rgb = new byte[] { 128, 128, 128 };
            profile!.ToSrgb(rgb);
            Assert.InRange(rgb[0], 187, 189); // linear light 0.502 is sRGB 188
        }
    }

    [Fact]
    public void TheOtherParametricCurvesAreRead()
    {
        foreach (var curve in new[] { "para 1", "para 2" })
        {
            var profile = IccMatrixProfile.TryParse(Rgb(Curve(curve)), out _);
            var rgb = new byte[] { 0, 255, 128 };
            profile!.ToSrgb(rgb);
            Assert.True(rgb[0] < rgb[2] && rgb[2] < rgb[1], $"{curve} is not increasing");
        }
    }

    [Fact]
    public void AGreyToneCurveKeepsGreys()
    {
        var profile = IccMatrixProfile.TryParse(Profile("GRAY", "XYZ ", ("kTRC", Curve("para 3"))), out var kind);

        Assert.Equal("grey tone curve", kind);
        Assert.True(profile!.IsGrey);
        var rgb = new byte[] { 90, 0, 0 };
        profile.ToSrgb(rgb);
        Assert.All(rgb, value => Assert.InRange(value, 89, 91));
    }

    [Theory]
    [InlineData("CMYK", "Lab ", "CMYK to Lab")]
    [InlineData("RGB ", "Lab ", "RGB to Lab")]
    [InlineData("RGB ", "XYZ ", "RGB lookup-table")]
    public void ProfilesOfOtherKindsAreRefusedWithTheReason(string space, string connection, string expected)
    {
        Assert.Null(IccMatrixProfile.TryParse(Profile(space, connection, ("A2B0", new byte[32])), out var kind));
        Assert.Equal(expected, kind);
    }

    [Fact]
    public void AProfileWhoseTagsPointOutsideItIsUnreadable()
    {
        var broken = Rgb(Curve("para 3"));
        BinaryPrimitives.WriteUInt32BigEndian(broken.AsSpan(132 + 4), 1_000_000); // the first tag's offset

        Assert.Null(IccMatrixProfile.TryParse(broken, out _));
        Assert.Null(IccMatrixProfile.TryParse(Rgb(Encoding.ASCII.GetBytes("sf32xxxxxxxxxxxx")), out _)); // no tone curve type
    }

    private static byte[] Rgb(byte[] curve) => Profile("RGB ", "XYZ ",
        ("rXYZ", Xyz(SrgbPrimaries[0])), ("gXYZ", Xyz(SrgbPrimaries[1])), ("bXYZ", Xyz(SrgbPrimaries[2])),
        ("rTRC", curve), ("gTRC", curve), ("bTRC", curve));

    /// <summary>An ICC profile: the 128-byte header's colour spaces, the tag table, the tags.</summary>
    private static byte[] Profile(string space, string connection, params (string Signature, byte[] Data)[] tags)
    {
        var table = 4 + (12 * tags.Length);
        var size = 128 + table + tags.Sum(tag => (tag.Data.Length + 3) / 4 * 4);
        var icc = new byte[size];
        BinaryPrimitives.WriteUInt32BigEndian(icc, (uint)size);
        Encoding.ASCII.GetBytes(space).CopyTo(icc, 16);
        Encoding.ASCII.GetBytes(connection).CopyTo(icc, 20);
        Encoding.ASCII.GetBytes("acsp").CopyTo(icc, 36);
        BinaryPrimitives.WriteUInt32BigEndian(icc.AsSpan(128), (uint)tags.Length);
        var at = 128 + table;
        for (var i = 0; i < tags.Length; i++)
        {
            var entry = icc.AsSpan(132 + (i * 12));
            Encoding.ASCII.GetBytes(tags[i].Signature).CopyTo(entry);
            BinaryPrimitives.WriteUInt32BigEndian(entry[4..], (uint)at);
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], (uint)tags[i].Data.Length);
            tags[i].Data.CopyTo(icc, at);
            at += (tags[i].Data.Length + 3) / 4 * 4;
        }

        return icc;
    }

    private static byte[] Xyz(double[] xyz)
    {
        var tag = new byte[20];
        Encoding.ASCII.GetBytes("XYZ ").CopyTo(tag, 0);
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(tag.AsSpan(8 + (i * 4)), (int)Math.Round(xyz[i] * 65536));
        }

        return tag;
    }

    /// <summary>A tone curve: sRGB's as a parametric function (types 3 and 4) or a table, or others named.</summary>
    private static byte[] Curve(string kind)
    {
        double[] srgb = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045];
        return kind switch
        {
            "para 3" => Para(3, srgb),
            "para 4" => Para(4, [.. srgb, 0, 0]),
            "para 0 gamma 1.0" => Para(0, [1.0]),
            "para 1" => Para(1, [2.2, 1.0, 0.0]),
            "para 2" => Para(2, [2.2, 1.0, 0.0, 0.0]),
            "curv table" => Table(1024, x => x <= 0.04045 ? x / 12.92 : Math.Pow((x + 0.055) / 1.055, 2.4)),
            "curv gamma 1.0" => [.. "curv"u8, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0],
            "curv empty" => [.. "curv"u8, 0, 0, 0, 0, 0, 0, 0, 0],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    private static byte[] Para(ushort function, double[] parameters)
    {
        var tag = new byte[12 + (parameters.Length * 4)];
        Encoding.ASCII.GetBytes("para").CopyTo(tag, 0);
        BinaryPrimitives.WriteUInt16BigEndian(tag.AsSpan(8), function);
        for (var i = 0; i < parameters.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(tag.AsSpan(12 + (i * 4)), (int)Math.Round(parameters[i] * 65536));
        }

        return tag;
    }

    private static byte[] Table(int points, Func<double, double> curve)
    {
        var tag = new byte[12 + (points * 2)];
        Encoding.ASCII.GetBytes("curv").CopyTo(tag, 0);
        BinaryPrimitives.WriteUInt32BigEndian(tag.AsSpan(8), (uint)points);
        for (var i = 0; i < points; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(tag.AsSpan(12 + (i * 2)), (ushort)Math.Round(curve(i / (double)(points - 1)) * 65535));
        }

        return tag;
    }
}
