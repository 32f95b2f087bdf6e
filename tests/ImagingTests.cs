using System.Net;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Microsoft.Extensions.Options;
using NetVips;

namespace Asgilook.Tests;

/// <summary>Whatever arrives, what is stored is an upright, 8-bit, 3-band sRGB JPEG without metadata.</summary>
public sealed class ImagingTests
{
    private static readonly double[] Orange = [200, 100, 50];
    private readonly VipsImageProcessor _processor = new(Options.Create(new AsgilookOptions()));

    [Fact]
    public void GreyscaleBecomesSrgb()
    {
        using var grey = Image.Black(32, 16).Linear(new double[] { 1 }, new double[] { 128 }).Cast(Enums.BandFormat.Uchar);

        using var stored = Stored(grey.PngsaveBuffer());

        Assert.Equal((3, Enums.Interpretation.Srgb), (stored.Bands, stored.Interpretation));
        Assert.InRange(stored.Avg(), 124, 132);
    }

    [Fact]
    public void SixteenBitBecomesEightBit()
    {
        using var deep = Solid(Orange).Cast(Enums.BandFormat.Ushort).Linear(new double[] { 256 }, new double[] { 0 })
            .Cast(Enums.BandFormat.Ushort).Copy(interpretation: Enums.Interpretation.Rgb16);

        using var stored = Stored(deep.PngsaveBuffer(bitdepth: 16));

        Assert.Equal((Enums.BandFormat.Uchar, 3), (stored.Format, stored.Bands));
        AssertColour(Orange, stored);
    }

    [Fact]
    public void CmykBecomesSrgb()
    {
        using var cmyk = Solid(Orange).IccTransform("cmyk", inputProfile: "srgb");
        var upload = cmyk.JpegsaveBuffer();
        using var uploaded = Image.NewFromBuffer(upload);
        using var throughItsProfile = uploaded.IccTransform("srgb", embedded: true, intent: Enums.Intent.Perceptual);

        using var stored = Stored(upload);

        Assert.Equal((3, Enums.Interpretation.Srgb), (stored.Bands, stored.Interpretation));
        AssertColour(throughItsProfile.Getpoint(8, 8), stored);
    }

    [Fact]
    public void ColourProfileIsConvertedToSrgbNotDropped()
    {
        using var displayP3 = Solid(Orange).IccTransform("p3", inputProfile: "srgb");
        Assert.True(displayP3.Contains("icc-profile-data"));
        Assert.True(Math.Abs(displayP3.Getpoint(0, 0)[0] - Orange[0]) > 8, "the P3 numbers should differ from the sRGB ones");

        using var stored = Stored(displayP3.PngsaveBuffer());

        Assert.False(stored.Contains("icc-profile-data"));
        AssertColour(Orange, stored);
    }

    [Fact]
    public void OrientationIsAppliedAndMetadataStripped()
    {
        using var photo = Image.NewFromBuffer(TestImages.RandomEllipses(64, 48, ".jpg"));
        var tagged = photo.Mutate(image =>
        {
            image.Set(GValue.GIntType, "orientation", 6);
            image.Set(GValue.GStrType, "exif-ifd0-Artist", "Someone Private");
        }).JpegsaveBuffer();

        var converted = _processor.ConvertToJpeg(tagged, long.MaxValue);
        using var stored = Image.NewFromBuffer(converted.Jpeg);

        Assert.Equal((48, 64), (converted.Width, converted.Height));
        Assert.Equal((48, 64), (stored.Width, stored.Height));
        Assert.False(stored.Contains("exif-data"));
        Assert.False(stored.Contains("exif-ifd0-Artist"));
    }

    [Fact]
    public void TransparencyIsFlattenedOntoWhite()
    {
        using var clear = Image.Black(16, 16, bands: 4).Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);

        using var stored = Stored(clear.PngsaveBuffer());

        Assert.Equal(3, stored.Bands);
        Assert.InRange(stored.Avg(), 250, 255);
    }

    [Fact]
    public void ThumbnailIsExactlyTheAskedSize()
    {
        var jpeg = _processor.ConvertToJpeg(TestImages.RandomEllipses(641, 361), long.MaxValue).Jpeg;

        Assert.Equal((320, 180), TestImages.SizeOf(_processor.Thumbnail(jpeg, 320, 180).Jpeg));
        Assert.Equal((80, 45), TestImages.SizeOf(_processor.Thumbnail(jpeg, 80, 45).Jpeg));
    }

    [Theory]
    [InlineData(".jpg")]
    [InlineData(".png")]
    [InlineData(".gif")]
    [InlineData(".webp")]
    public async Task TruncatedImageIsRejectedAndNothingStored(string format)
    {
        await using var app = await TestApp.StartAsync();
        var whole = TestImages.RandomEllipses(format: format);

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(whole[..(whole.Length / 2)]));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        Assert.Empty(app.StoredFiles());
    }

    [Fact]
    public void VipsThreadsSettingReachesLibvips()
    {
        _ = new VipsImageProcessor(Options.Create(new AsgilookOptions()));

        Assert.Equal(new AsgilookOptions().VipsThreads, NetVips.NetVips.Concurrency);
    }

    [Fact]
    public void EngineVersionNamesLibvipsAndTheQuality() =>
        Assert.Matches(@"^vips-8\.\d+\.\d+-q85$", _processor.Version);

    [Fact]
    public void RandomIdsAreVersionFourAndDistinct()
    {
        var generator = new Images.RandomImageIdGenerator();
        var ids = Enumerable.Range(0, 100).Select(_ => generator.NewId()).ToHashSet();

        Assert.Equal(100, ids.Count);
        Assert.All(ids, id => Assert.Equal(4, id.Version));
    }

    private Image Stored(byte[] upload)
    {
        var converted = _processor.ConvertToJpeg(upload, long.MaxValue);
        var image = Image.NewFromBuffer(converted.Jpeg);
        Assert.Equal("jpegload_buffer", (string)image.Get("vips-loader"));
        Assert.Equal((image.Width, image.Height), (converted.Width, converted.Height));
        return image;
    }

    private static Image Solid(double[] colour) =>
        Image.Black(16, 16).NewFromImage(colour).Copy(interpretation: Enums.Interpretation.Srgb);

    private static void AssertColour(double[] expected, Image image, double tolerance = 4)
    {
        var actual = image.Getpoint(8, 8);
        for (var band = 0; band < 3; band++)
        {
            Assert.InRange(actual[band], expected[band] - tolerance, expected[band] + tolerance);
        }
    }
}
