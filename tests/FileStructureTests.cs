using System.Buffers.Binary;
using Asgilook.Imaging;
using static Asgilook.Imaging.ImageFormats;

namespace Asgilook.Tests;

/// <summary>
/// The structural walks that let the ImageSharp decoders and ImageMagick refuse a truncated file as libvips
/// does: whole files made by real encoders are complete, the same files cut short are not, and a header too
/// short to read is never taken for a whole file.
/// </summary>
public sealed class FileStructureTests
{
    public static TheoryData<string, ImageLoader> Files() => new()
    {
        { "jpeg", ImageLoader.Jpeg },
        { "progressive jpeg", ImageLoader.Jpeg },
        { "png", ImageLoader.Png },
        { "gif", ImageLoader.Gif },
        { "animated gif", ImageLoader.Gif },
        { "webp", ImageLoader.Webp },
        { "bmp", ImageLoader.Bmp },
        { "tga", ImageLoader.Tga },
        { "ppm", ImageLoader.Pnm },
        { "pgm, 16 bits", ImageLoader.Pnm },
        { "pbm", ImageLoader.Pnm },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void AWholeFileIsCompleteAndACutOneIsNot(string what, ImageLoader loader)
    {
        var whole = Make(what);

        Assert.True(FileStructure.IsComplete(loader, whole), $"the whole {what} was taken for a cut one");
        Assert.False(FileStructure.IsComplete(loader, whole[..(whole.Length * 3 / 4)]), $"a {what} cut short was taken for a whole one");
        Assert.False(FileStructure.IsComplete(loader, whole[..Math.Min(whole.Length, 14)]), $"a {what} header alone was taken for a whole file");
    }

    [Fact]
    public void WhatOnlyADecoderCanMeasureIsLeftToIt()
    {
        var png = Quadrants.Png();
        Assert.True(FileStructure.IsComplete(ImageLoader.Bmp, FormatTools.Convert(png, "BMP3:out.bmp", "-type", "Palette", "-compress", "RLE")));
        Assert.True(FileStructure.IsComplete(ImageLoader.Tga, FormatTools.Netpbm(png, "ppmtotga -rgb")));
        Assert.True(FileStructure.IsComplete(ImageLoader.Pnm, FormatTools.Netpbm(png, "pnmtoplainpnm")));
        Assert.True(FileStructure.IsComplete(ImageLoader.Svg, "<svg/>"u8));
    }

    [Fact]
    public void DeclaredSizesAreReadWithoutTrustingTheNumbers()
    {
        var tga = FormatTools.Netpbm(Quadrants.Png(), "ppmtotga -rgb -norle");
        BinaryPrimitives.WriteUInt16LittleEndian(tga.AsSpan(12), 65535);
        var topDown = FormatTools.Convert(Quadrants.Png(), "BMP3:out.bmp");
        BinaryPrimitives.WriteInt32LittleEndian(topDown.AsSpan(22), -64);
        byte[] os2 = [.. "BM"u8, .. new byte[12], 12, 0, 0, 0, 96, 0, 64, 0, 1, 0, 24, 0];

        Assert.Equal((65535L, 64L), FileStructure.DeclaredSize(ImageLoader.Tga, tga));
        Assert.Equal((96L, 64L), FileStructure.DeclaredSize(ImageLoader.Bmp, topDown));
        Assert.Equal((96L, 64L), FileStructure.DeclaredSize(ImageLoader.Bmp, os2));
        Assert.Equal((12L, 34L), FileStructure.DeclaredSize(ImageLoader.Pnm, "P5 # a comment\n12\t34 255\n"u8));
        Assert.Equal((0L, 0L), FileStructure.DeclaredSize(ImageLoader.Tga, [0, 0, 2]));
        Assert.Null(FileStructure.DeclaredSize(ImageLoader.Png, Quadrants.Png()));
    }

    [Fact]
    public void APhotoshopFileIsWholeOnlyWithItsWholeComposite()
    {
        var png = Quadrants.Png();
        foreach (var psd in new[] { FormatTools.Convert(png, "PSD:out.psd"), FormatTools.Convert(png, "PSD:out.psd", "-compress", "RLE") })
        {
            Assert.True(PsdComposite.IsComplete(psd));
            Assert.False(PsdComposite.IsComplete(psd[..^10]));
            Assert.False(PsdComposite.IsComplete(psd[..40]));
            Assert.False(PsdComposite.IsComplete(psd[..20]));
        }
    }

    [Fact]
    public void APlainPbmIsRespacedDigitByDigitAndKeepsItsHeader()
    {
        var spaced = PlainPbm.Spaced("P1\n# made by hand\n4 2\n0110 # a comment in the pixels\n1001"u8.ToArray());

        Assert.Equal("P1 4 2\n0 1 1 0 1 0 0 1 ", System.Text.Encoding.ASCII.GetString(spaced));
    }

    private static byte[] Make(string what)
    {
        var png = Quadrants.Png();
        using var image = Quadrants.Draw();
        return what switch
        {
            "jpeg" => image.JpegsaveBuffer(),
            "progressive jpeg" => image.JpegsaveBuffer(interlace: true, restartInterval: 4),
            "png" => png,
            "gif" => image.GifsaveBuffer(),
            "animated gif" => CraftedImages.AnimatedGif(),
            "webp" => image.WebpsaveBuffer(),
            "bmp" => FormatTools.Convert(png, "BMP3:out.bmp"),
            "tga" => FormatTools.Netpbm(png, "ppmtotga -rgb -norle"),
            "ppm" => FormatTools.Netpbm(png),
            "pgm, 16 bits" => FormatTools.Netpbm(png, "ppmtopgm", "pnmdepth 65535"),
            "pbm" => FormatTools.Netpbm(Quadrants.Png(colours: Quadrants.BlackAndWhite), "ppmtopgm", "pgmtopbm -threshold"),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
    }
}
