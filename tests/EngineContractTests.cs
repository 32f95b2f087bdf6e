using Asgilook.Configuration;
using Asgilook.Imaging;
using Microsoft.Extensions.Options;
using NetVips;

namespace Asgilook.Tests;

/// <summary>
/// What every image engine promises, run against each: whatever arrives is stored as an upright, 8-bit,
/// 3-band sRGB JPEG without metadata; a bomb is refused from its header, a truncated file as unreadable;
/// thumbnails are exactly the size asked. Where an engine cannot do what another does, its subclass says
/// so and the test checks that it refuses clearly instead.
/// </summary>
public abstract class EngineContractTests
{
    private static readonly double[] Orange = [200, 100, 50];

    protected abstract IImageProcessor Create(AsgilookOptions options);

    protected abstract string VersionPattern { get; }

    /// <summary>Whether the engine converts a CMYK file's profile (ImageSharp 2.1 has no colour management for CMYK).</summary>
    protected abstract bool ConvertsCmyk { get; }

    /// <summary>Whether the engine encodes AVIF (ImageSharp 2.1 has no AVIF encoder).</summary>
    protected abstract bool OffersAvif { get; }

    private IImageProcessor Engine => Create(new AsgilookOptions());

    [Fact]
    public void GreyscaleBecomesSrgb()
    {
        using var grey = Image.Black(32, 16).Linear(new double[] { 1 }, new double[] { 128 }).Cast(Enums.BandFormat.Uchar);

        using var stored = Stored(grey.PngsaveBuffer());

        Assert.Equal(3, stored.Bands);
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
    public void CmykBecomesSrgbThroughItsProfileOrIsRefusedClearly()
    {
        using var cmyk = Solid(Orange).IccTransform("cmyk", inputProfile: "srgb");
        var upload = cmyk.JpegsaveBuffer();
        using var uploaded = Image.NewFromBuffer(upload);
        using var throughItsProfile = uploaded.IccTransform("srgb", embedded: true, intent: Enums.Intent.Perceptual);

        if (ConvertsCmyk)
        {
            using var stored = Stored(upload);
            AssertColour(throughItsProfile.Getpoint(8, 8), stored);
        }
        else
        {
            var refused = Assert.Throws<RejectedImageException>(() => Engine.ConvertToJpeg(upload, long.MaxValue));
            Assert.Equal(Rejection.UnsupportedFormat, refused.Reason);
            Assert.Contains("carries a colour profile (CMYK", refused.Message);
            Assert.Contains("the Vips engine can", refused.Message);
        }
    }

    [Fact]
    public void ADisplayP3ProfileIsConvertedToSrgbNotDropped()
    {
        using var displayP3 = Solid(Orange).IccTransform("p3", inputProfile: "srgb");
        Assert.True(displayP3.Contains("icc-profile-data"));
        Assert.True(Math.Abs(displayP3.Getpoint(0, 0)[0] - Orange[0]) > 8, "the P3 numbers should differ from the sRGB ones");

        using var stored = Stored(displayP3.PngsaveBuffer());

        Assert.False(stored.Contains("icc-profile-data"));
        AssertColour(Orange, stored);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void EveryExifOrientationIsTurnedUpright(int orientation)
    {
        using var upright = Quadrants.Draw(96, 64);
        using var stored = AsStoredWith(upright, orientation);
        using var tagged = stored.Mutate(image => image.Set(GValue.GIntType, "orientation", orientation));

        var converted = Engine.ConvertToJpeg(tagged.JpegsaveBuffer(q: 95), long.MaxValue);

        Quadrants.AssertUpright(converted.Jpeg, 96, 64, what: $"orientation {orientation}");
        Assert.Equal((96, 64), (converted.Width, converted.Height));
    }

    [Fact]
    public void MetadataIsStripped()
    {
        using var photo = Image.NewFromBuffer(TestImages.RandomEllipses(64, 48, ".jpg"));
        var tagged = photo.Mutate(image =>
        {
            image.Set(GValue.GStrType, "exif-ifd0-Artist", "Someone Private");
            image.Set(GValue.GStrType, "exif-ifd2-UserComment", "at home");
        }).JpegsaveBuffer();

        using var stored = Stored(tagged);

        Assert.False(stored.Contains("exif-data"));
        Assert.False(stored.Contains("exif-ifd0-Artist"));
        Assert.False(stored.Contains("xmp-data"));
        Assert.False(stored.Contains("icc-profile-data"));
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
    public void AnAnimationKeepsItsFirstFrame()
    {
        using var stored = Stored(CraftedImages.AnimatedGif());

        Assert.Equal((32, 32), (stored.Width, stored.Height));
        AssertColour([255, 0, 0], stored, tolerance: 12);
    }

    [Fact]
    public void AMultiPageTiffKeepsItsFirstPage()
    {
        using var first = Quadrants.Draw(48, 32);
        using var second = Image.Black(48, 32).NewFromImage(0, 0, 0).Cast(Enums.BandFormat.Uchar);
        using var pages = Image.Arrayjoin([first, second], across: 1).Mutate(image => image.Set(GValue.GIntType, "page-height", 32));

        var converted = Engine.ConvertToJpeg(pages.TiffsaveBuffer(), long.MaxValue);

        Quadrants.AssertUpright(converted.Jpeg, 48, 32, what: "the first page");
    }

    [Fact]
    public void ThumbnailIsExactlyTheAskedSize()
    {
        var engine = Engine;
        var jpeg = engine.ConvertToJpeg(TestImages.RandomEllipses(641, 361), long.MaxValue).Jpeg;

        Assert.Equal((320, 180), TestImages.SizeOf(engine.Thumbnail(jpeg, 320, 180).Bytes));
        Assert.Equal((80, 45), TestImages.SizeOf(engine.Thumbnail(jpeg, 80, 45).Bytes));
        Quadrants.AssertUpright(engine.Thumbnail(engine.ConvertToJpeg(Quadrants.Png(400, 300), long.MaxValue).Jpeg, 100, 75).Bytes, 100, 75);
    }

    [Fact]
    public void EveryThumbnailFormatTheEngineOffersIsThatFormatAtExactlyTheSizeAndLooksTheSame()
    {
        var engine = Engine;
        var stored = engine.ConvertToJpeg(Quadrants.Png(400, 300), long.MaxValue).Jpeg;
        Assert.Contains(ThumbnailFormat.Jpeg, engine.ThumbnailFormats);
        Assert.Equal(OffersAvif, engine.ThumbnailFormats.Contains(ThumbnailFormat.Avif));

        foreach (var format in engine.ThumbnailFormats)
        {
            var thumbnail = engine.Thumbnail(stored, 200, 150, format).Bytes;
            var loader = format switch { ThumbnailFormat.Webp => "webpload_buffer", ThumbnailFormat.Avif => "heifload_buffer", _ => "jpegload_buffer" };
            Assert.Equal(loader, TestImages.FormatOf(thumbnail));
            Quadrants.AssertUpright(thumbnail, 200, 150, what: format.ToString());
            Assert.Equal(format == ThumbnailFormat.Jpeg, engine.EncoderOf(format).Length == 0);
        }
    }

    [Theory]
    [InlineData("PNG")]
    [InlineData("JPEG")]
    public void ABombIsRefusedFromItsHeader(string format)
    {
        var bomb = format == "PNG" ? CraftedImages.PngDeclaring(60_000, 60_000) : CraftedImages.JpegDeclaring(60_000, 60_000);

        var refused = Assert.Throws<RejectedImageException>(() => Engine.ConvertToJpeg(bomb, 40_000_000));

        Assert.Equal(Rejection.TooManyPixels, refused.Reason);
        Assert.Contains("declares 60000x60000 pixels, more than the 40,000,000 allowed", refused.Message);
    }

    [Fact]
    public void ADecodePastTheBudgetIsRefusedBeforeItStarts()
    {
        var engine = Create(new AsgilookOptions { MaxDecodeMegabytes = 4 });
        var large = TestImages.RandomEllipses(2000, 1500, ".jpg");

        var refused = Assert.Throws<RejectedImageException>(() => engine.ConvertToJpeg(large, long.MaxValue));

        Assert.Equal(Rejection.TooManyPixels, refused.Reason);
        Assert.Contains("MiB to decode, more than the 4 MiB one image may take", refused.Message);
    }

    [Theory]
    [InlineData(".jpg")]
    [InlineData(".png")]
    [InlineData(".gif")]
    [InlineData(".webp")]
    [InlineData(".tif")]
    public void ATruncatedFileIsUnreadable(string format)
    {
        var whole = TestImages.RandomEllipses(format: format);

        var refused = Assert.Throws<RejectedImageException>(() => Engine.ConvertToJpeg(whole[..(whole.Length / 2)], long.MaxValue));

        Assert.Equal(Rejection.Unreadable, refused.Reason);
    }

    [Fact]
    public void BytesThatAreNoImageAreUnreadable()
    {
        var refused = Assert.Throws<RejectedImageException>(() => Engine.ConvertToJpeg("not an image at all"u8.ToArray(), long.MaxValue));

        Assert.Equal(Rejection.Unreadable, refused.Reason);
    }

    [Fact]
    public void AConversionPastItsDeadlineTookTooLong()
    {
        var engine = Create(new AsgilookOptions { ImageWorkTimeout = TimeSpan.FromMilliseconds(1) });

        var refused = Assert.Throws<RejectedImageException>(() => engine.ConvertToJpeg(TestImages.Noise(3000, 2000), long.MaxValue));

        Assert.Equal(Rejection.TookTooLong, refused.Reason);
    }

    [Fact]
    public void APlaceholderIsATinyBlurredPreviewAndTheAverageColour()
    {
        var engine = Engine;
        using var orange = Solid(Orange);
        using var large = orange.Resize(40); // 640 × 640
        var stored = engine.ConvertToJpeg(large.PngsaveBuffer(), long.MaxValue).Jpeg;

        var placeholder = engine.MakePlaceholder(stored);

        Assert.True(Placeholders.IsWellFormed(placeholder), placeholder.Preview);
        Assert.InRange(placeholder.Preview.Length, 40, 1024);
        using var preview = Image.NewFromBuffer(Convert.FromBase64String(placeholder.Preview["data:image/webp;base64,".Length..]));
        Assert.Equal(Placeholders.Side, Math.Max(preview.Width, preview.Height));
        AssertColour(Orange, preview, tolerance: 10);
        var colour = Convert.FromHexString(placeholder.Colour[1..]);
        Assert.All(Enumerable.Range(0, 3), band => Assert.InRange(colour[band], Orange[band] - 4, Orange[band] + 4));
    }

    [Theory]
    [InlineData("data:image/webp;base64,UklGRg==", "#c86432", true)]
    [InlineData("data:image/svg+xml;base64,PHN2Zz4=", "#c86432", false)]
    [InlineData("data:image/webp;base64,UklGRg==\");background:url(x", "#c86432", false)]
    [InlineData("data:image/webp;base64,UklGRg==", "red", false)]
    [InlineData("data:image/webp;base64,UklGRg==", "#C86432;x:y", false)]
    public void OnlyAPlaceholderOfTheShapeAsgilookMakesIsWellFormed(string preview, string colour, bool expected) =>
        Assert.Equal(expected, Placeholders.IsWellFormed(new Placeholder(preview, colour)));

    [Fact]
    public void ARenderPastItsDeadlineIsATimeout()
    {
        var stored = Engine.ConvertToJpeg(TestImages.Noise(3000, 2000), long.MaxValue).Jpeg;
        var engine = Create(new AsgilookOptions { ImageWorkTimeout = TimeSpan.FromMilliseconds(1) });

        Assert.Throws<ImageWorkTimeoutException>(() => engine.Thumbnail(stored, 1500, 1000));
    }

    [Fact]
    public void TheVersionNamesTheEngineAndTheQuality() => Assert.Matches(VersionPattern, Engine.Version);

    /// <summary>The pixels a camera stores for <paramref name="upright"/> when it tags them with that EXIF orientation.</summary>
    private static Image AsStoredWith(Image upright, int orientation) => orientation switch
    {
        1 => upright.Copy(),
        2 => upright.FlipHor(),
        3 => upright.Rot180(),
        4 => upright.FlipVer(),
        5 => upright.Rot90().FlipHor(), // transpose
        6 => upright.Rot270(),
        7 => upright.Rot270().FlipHor(), // transverse
        8 => upright.Rot90(),
        _ => throw new ArgumentOutOfRangeException(nameof(orientation)),
    };

    private Image Stored(byte[] upload)
    {
        var converted = Engine.ConvertToJpeg(upload, long.MaxValue);
        var image = Image.NewFromBuffer(converted.Jpeg);
        Assert.Equal("jpegload_buffer", (string)image.Get("vips-loader"));
        Assert.Equal((image.Width, image.Height), (converted.Width, converted.Height));
        Assert.Equal(Enums.Interpretation.Srgb, image.Interpretation);
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

public sealed class VipsEngineTests : EngineContractTests
{
    protected override IImageProcessor Create(AsgilookOptions options) => new VipsImageProcessor(Options.Create(options));

    protected override string VersionPattern => @"^vips-8\.\d+\.\d+-q85$";

    protected override bool ConvertsCmyk => true;

    protected override bool OffersAvif => true;

    [Fact]
    public void VipsThreadsSettingReachesLibvips()
    {
        _ = new VipsImageProcessor(Options.Create(new AsgilookOptions()));

        Assert.Equal(new AsgilookOptions().VipsThreads, NetVips.NetVips.Concurrency);
    }
}

/// <summary>
/// The design card's ImageSharp 2.1.13 as the engine. Where it falls short of libvips, it refuses: a CMYK
/// profile (no CMYK colour management), and the formats it has no decoder for (see FormatUploadTests).
/// </summary>
public sealed class ImageSharpEngineTests : EngineContractTests
{
    protected override IImageProcessor Create(AsgilookOptions options) => new ImageSharpImageProcessor(Options.Create(options));

    protected override string VersionPattern => @"^imagesharp-2\.1\.13-q85$";

    protected override bool ConvertsCmyk => false;

    protected override bool OffersAvif => false;

    [Fact]
    public void AFormatOnlyTheVipsEngineReadsIsRefusedNamingIt()
    {
        var engine = new ImageSharpImageProcessor(Options.Create(new AsgilookOptions()));

        var refused = Assert.Throws<RejectedImageException>(() => engine.ConvertToJpeg(CraftedImages.SvgDeclaring(8, 8), long.MaxValue));

        Assert.Equal(Rejection.UnsupportedFormat, refused.Reason);
        Assert.Contains("the ImageSharp engine this server runs does not read (the default engine, Vips, does)", refused.Message);
    }
}
