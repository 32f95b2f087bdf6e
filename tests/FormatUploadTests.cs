using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using Asgilook.Configuration;
using NetVips;

namespace Asgilook.Tests;

/// <summary>
/// Every format a phone, a camera or an old editor makes, uploaded over HTTP as a user would, under each
/// engine: made at test time by the format's own tools from Debian (FormatTools), stored upright, at its
/// size, in its colours. The Vips engine reads them all (libvips, and ImageMagick for what the bundled
/// libvips lacks); the ImageSharp engine reads what ImageSharp 2.1 has decoders for and refuses the rest
/// with a 415 that names the engine that would read it.
/// </summary>
public sealed class FormatUploadTests
{
    private static readonly double[][] Greys = [[40, 40, 40], [100, 100, 100], [170, 170, 170], [240, 240, 240]];

    /// <summary>The quadrants' colours after a trip through libvips' CMYK profile and back: what a CMYK file of them shows.</summary>
    private static readonly double[][] ThroughCmyk = [.. Quadrants.Colours.Select(colour =>
    {
        using var solid = Image.Black(4, 4).NewFromImage(colour).Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);
        using var cmyk = solid.IccTransform("cmyk", inputProfile: "srgb");
        using var back = cmyk.IccTransform("srgb", embedded: true, intent: Enums.Intent.Perceptual);
        return back.Getpoint(1, 1)[..3];
    })];

    /// <summary>A format as a tool makes it, the size and colours it should be stored with, and whether ImageSharp 2.1 reads it.</summary>
    public sealed record Sample(string Name, Func<byte[]> Make, int Width, int Height, double[][] Colours, double Tolerance, bool ImageSharpReads)
    {
        public override string ToString() => Name;
    }

    private static readonly Sample[] Samples =
    [
        new("BMP, 24-bit", () => FormatTools.Convert(Quadrants.Png(), "BMP3:out.bmp"), 96, 64, Quadrants.Colours, 2, true),
        new("BMP, 32-bit with alpha", () => FormatTools.Convert(Quadrants.Png(), "BMP:out.bmp", "-alpha", "on"), 96, 64, Quadrants.Colours, 2, true),
        new("BMP, 8-bit palette", () => FormatTools.Convert(Quadrants.Png(), "BMP3:out.bmp", "-type", "Palette"), 96, 64, Quadrants.Colours, 2, true),
        new("BMP, 8-bit run-length coded", () => FormatTools.Convert(Quadrants.Png(), "BMP3:out.bmp", "-type", "Palette", "-compress", "RLE"), 96, 64, Quadrants.Colours, 2, true),
        new("BMP, 4-bit", () => FormatTools.Netpbm(Quadrants.Png(), "ppmtobmp -bpp 4"), 96, 64, Quadrants.Colours, 2, true),
        new("BMP, 1-bit", () => FormatTools.Netpbm(Quadrants.Png(colours: Quadrants.BlackAndWhite), "ppmtobmp -bpp 1"), 96, 64, Quadrants.BlackAndWhite, 2, true),
        new("ICO, its largest frame", () => Icon(), 64, 64, Quadrants.Colours, 2, false),
        new("CUR", () => Cursor(), 64, 64, Quadrants.Colours, 2, false),
        new("TGA, run-length coded", () => FormatTools.Netpbm(Quadrants.Png(), "ppmtotga -rgb"), 96, 64, Quadrants.Colours, 2, true),
        new("TGA, uncompressed", () => FormatTools.Netpbm(Quadrants.Png(), "ppmtotga -rgb -norle"), 96, 64, Quadrants.Colours, 2, true),
        new("TGA, rows from the top", () => TopDownTga(), 96, 64, Quadrants.Colours, 2, true),
        new("PPM", () => FormatTools.Netpbm(Quadrants.Png()), 96, 64, Quadrants.Colours, 2, true),
        new("PPM, plain text", () => FormatTools.Netpbm(Quadrants.Png(), "pnmtoplainpnm"), 96, 64, Quadrants.Colours, 2, true),
        new("PGM", () => FormatTools.Netpbm(Quadrants.Png(colours: Greys), "ppmtopgm"), 96, 64, Greys, 2, true),
        new("PBM", () => FormatTools.Netpbm(Quadrants.Png(colours: Quadrants.BlackAndWhite), "ppmtopgm", "pgmtopbm -threshold"), 96, 64, Quadrants.BlackAndWhite, 2, true),
        new("PBM, plain text", () => FormatTools.Netpbm(Quadrants.Png(colours: Quadrants.BlackAndWhite), "ppmtopgm", "pgmtopbm -threshold", "pnmtoplainpnm"), 96, 64, Quadrants.BlackAndWhite, 2, true),
        new("PSD, RGB", () => FormatTools.Convert(Quadrants.Png(), "PSD:out.psd"), 96, 64, Quadrants.Colours, 2, false),
        new("PSD, CMYK with its profile", () => CmykPsd(), 96, 64, ThroughCmyk, 6, false),
        new("PSD, greyscale", () => FormatTools.Convert(Quadrants.Png(colours: Greys), "PSD:out.psd", "-colorspace", "Gray"), 96, 64, Greys, 3, false),
        new("JPEG XL with an alpha channel", () => FormatTools.JpegXl(OpaqueWithAlpha(), lossless: true), 96, 64, Quadrants.Colours, 2, false),
        new("JPEG XL, lossy", () => FormatTools.JpegXl(Quadrants.Png()), 96, 64, Quadrants.Colours, 12, false),
        new("JPEG XL, lossless", () => FormatTools.JpegXl(Quadrants.Png(), lossless: true), 96, 64, Quadrants.Colours, 2, false),
        new("JPEG 2000 (JP2)", () => FormatTools.Jpeg2000(Quadrants.Png()), 96, 64, Quadrants.Colours, 2, false),
        new("JPEG 2000 codestream (J2K)", () => FormatTools.Jpeg2000(Quadrants.Png(), codestream: true), 96, 64, Quadrants.Colours, 2, false),
        new("HEIC (HEVC, as x265 codes it)", () => FormatTools.Heic(Quadrants.Png()), 96, 64, Quadrants.Colours, 14, false),
        new("HEIC in Display P3", () => DisplayP3Heic(), 96, 64, Quadrants.Colours, 14, false),
        new("HEIC as an iPhone stores a portrait", () => PortraitHeic(), 64, 96, Quadrants.Colours, 14, false),
        new("TIFF, multi-page", () => MultiPageTiff(), 96, 64, Quadrants.Colours, 2, true),
    ];

    public static TheoryData<string, ImageEngine> Uploads()
    {
        var data = new TheoryData<string, ImageEngine>();
        foreach (var sample in Samples)
        {
            data.Add(sample.Name, ImageEngine.Vips);
            data.Add(sample.Name, ImageEngine.ImageSharp);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Uploads))]
    public async Task EachFormatIsStoredUprightAsExpectedOrRefusedNamingTheEngineThatReadsIt(string name, ImageEngine engine)
    {
        var sample = Samples.Single(s => s.Name == name);
        var upload = sample.Make();
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ImageEngine"] = engine.ToString() });

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(upload));

        if (engine == ImageEngine.ImageSharp && !sample.ImageSharpReads)
        {
            var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
            Assert.Contains("the ImageSharp engine this server runs does not read (the default engine, Vips, does)", problem.GetProperty("detail").GetString());
            Assert.Empty(app.StoredFiles());
            return;
        }

        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{name} under {engine}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var created = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var stored = await app.Client.GetByteArrayAsync(created.GetProperty("image").GetString());
        Assert.Equal("jpegload_buffer", TestImages.FormatOf(stored));
        Quadrants.AssertUpright(stored, sample.Width, sample.Height, sample.Tolerance, sample.Colours, $"{name} under {engine}");
        using var image = Image.NewFromBuffer(stored);
        Assert.False(image.Contains("exif-data") || image.Contains("icc-profile-data") || image.Contains("xmp-data"), "metadata was kept");
        Assert.Equal([sample.Width, sample.Height], created.GetProperty("size").EnumerateArray().Select(v => v.GetInt32()));
    }

    public static TheoryData<string, ImageEngine, HttpStatusCode, string> Refusals()
    {
        var data = new TheoryData<string, ImageEngine, HttpStatusCode, string>();
        foreach (var engine in new[] { ImageEngine.Vips, ImageEngine.ImageSharp })
        {
            data.Add("a BMP declaring 100000x100000", engine, HttpStatusCode.RequestEntityTooLarge, "declares 100000x100000 pixels");
            data.Add("a PPM declaring 100000x100000", engine, HttpStatusCode.RequestEntityTooLarge, "declares 100000x100000 pixels");
            data.Add("a TGA declaring 65535x65535", engine, HttpStatusCode.RequestEntityTooLarge, "declares 65535x65535 pixels");
            data.Add("a truncated BMP", engine, HttpStatusCode.BadRequest, "truncated or corrupt");
            data.Add("a truncated TGA", engine, HttpStatusCode.BadRequest, "truncated or corrupt");
            data.Add("a truncated PPM", engine, HttpStatusCode.BadRequest, "truncated or corrupt");
            data.Add("a PostScript file", engine, HttpStatusCode.UnsupportedMediaType, "The body is a PostScript file; Asgilook reads");
            data.Add("a QOI file", engine, HttpStatusCode.UnsupportedMediaType, "The body is a QOI file; Asgilook reads");
        }

        data.Add("a HEIC declaring 60000x60000", ImageEngine.Vips, HttpStatusCode.RequestEntityTooLarge, "declares 60000x60000 pixels");
        data.Add("a PSD declaring 30000x30000", ImageEngine.Vips, HttpStatusCode.RequestEntityTooLarge, "declares 30000x30000 pixels");
        data.Add("a truncated HEIC", ImageEngine.Vips, HttpStatusCode.BadRequest, "truncated or corrupt");
        data.Add("a truncated PSD", ImageEngine.Vips, HttpStatusCode.BadRequest, "truncated or corrupt");
        data.Add("a truncated ICO", ImageEngine.Vips, HttpStatusCode.BadRequest, "truncated or corrupt");
        data.Add("a truncated JPEG XL", ImageEngine.Vips, HttpStatusCode.BadRequest, "truncated or corrupt");
        data.Add("a truncated JPEG 2000", ImageEngine.Vips, HttpStatusCode.BadRequest, "truncated or corrupt");
        data.Add("a HEIC declaring 60000x60000", ImageEngine.ImageSharp, HttpStatusCode.UnsupportedMediaType, "does not read");
        return data;
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task TheErrorTableHoldsForTheNewFormats(string what, ImageEngine engine, HttpStatusCode expected, string detail)
    {
        var body = Hostile(what);
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ImageEngine"] = engine.ToString() });

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(body));

        var problem = await response.AssertProblemAsync(expected);
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Empty(app.StoredFiles());
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
    }

    private static byte[] Hostile(string what)
    {
        var png = Quadrants.Png();
        return what switch
        {
            "a BMP declaring 100000x100000" => Patched(FormatTools.Convert(png, "BMP3:out.bmp"), b =>
            {
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), 100_000);
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), 100_000);
            }),
            "a PPM declaring 100000x100000" => [.. "P6\n100000 100000\n255\n"u8, .. new byte[3000]],
            "a TGA declaring 65535x65535" => Patched(FormatTools.Netpbm(png, "ppmtotga -rgb -norle"), t =>
            {
                BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(12), 65535);
                BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(14), 65535);
            }),
            "a HEIC declaring 60000x60000" => HeifBoxes.Declare(FormatTools.Heic(png), 60_000, 60_000),
            "a PSD declaring 30000x30000" => Patched(FormatTools.Convert(png, "PSD:out.psd"), p =>
            {
                BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(14), 30_000);
                BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(18), 30_000);
            }),
            "a truncated BMP" => Half(FormatTools.Convert(png, "BMP3:out.bmp")),
            "a truncated TGA" => Half(FormatTools.Netpbm(png, "ppmtotga -rgb -norle")),
            "a truncated PPM" => Half(FormatTools.Netpbm(png)),
            "a truncated HEIC" => Half(FormatTools.Heic(TestImages.RandomEllipses(320, 240))),
            "a truncated PSD" => Half(FormatTools.Convert(png, "PSD:out.psd")),
            "a truncated ICO" => Half(Icon()),
            "a truncated JPEG XL" => Half(FormatTools.JpegXl(TestImages.RandomEllipses(320, 240))),
            "a truncated JPEG 2000" => Half(FormatTools.Jpeg2000(TestImages.RandomEllipses(320, 240))),
            "a PostScript file" => "%!PS-Adobe-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"u8.ToArray(),
            "a QOI file" => [.. "qoif"u8, 0, 0, 0, 2, 0, 0, 0, 2, 3, 0, .. new byte[8], 0, 0, 0, 0, 0, 0, 0, 1],
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
    }

    [Fact]
    public async Task AFallbackDecodePastItsDeadlineIs422()
    {
        var heic = FormatTools.Heic(TestImages.RandomEllipses(1280, 960));
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ImageWorkTimeout"] = "00:00:00.001" });

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(heic));

        var problem = await response.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("Decoding the HEIF took longer than the 0.001 s", problem.GetProperty("detail").GetString());
        Assert.Empty(app.StoredFiles());
    }

    private static byte[] OpaqueWithAlpha()
    {
        using var upright = Quadrants.Draw();
        using var alpha = upright.Bandjoin(255);
        return alpha.PngsaveBuffer();
    }

    private static byte[] Patched(byte[] file, Action<byte[]> patch)
    {
        patch(file);
        return file;
    }

    private static byte[] Half(byte[] file) => file[..(file.Length / 2)];

    /// <summary>An icon of three frames (16, 32 and 64 px): the largest is the picture.</summary>
    private static byte[] Icon() => FormatTools.Convert(Quadrants.Png(64, 64), "ICO:out.ico", "-define", "icon:auto-resize=64,32,16");

    /// <summary>A cursor is an icon file whose type word says 2.</summary>
    private static byte[] Cursor() => Patched(Icon(), ico => ico[2] = 2);

    /// <summary>An uncompressed TGA whose descriptor says its rows run from the top, as many writers store them.</summary>
    private static byte[] TopDownTga()
    {
        using var image = Quadrants.Draw();
        var rgb = image.WriteToMemory<byte>();
        var tga = new byte[18 + rgb.Length];
        tga[2] = 2; // uncompressed true colour
        BinaryPrimitives.WriteUInt16LittleEndian(tga.AsSpan(12), (ushort)image.Width);
        BinaryPrimitives.WriteUInt16LittleEndian(tga.AsSpan(14), (ushort)image.Height);
        tga[16] = 24;
        tga[17] = 0x20; // origin at the top left
        for (var i = 0; i < rgb.Length; i += 3)
        {
            (tga[18 + i], tga[18 + i + 1], tga[18 + i + 2]) = (rgb[i + 2], rgb[i + 1], rgb[i]); // BGR
        }

        return tga;
    }

    /// <summary>A CMYK PSD as a print shop sends it: its CMYK profile embedded (libvips makes the CMYK TIFF, ImageMagick the PSD).</summary>
    private static byte[] CmykPsd()
    {
        using var upright = Quadrants.Draw();
        using var cmyk = upright.IccTransform("cmyk", inputProfile: "srgb");
        return FormatTools.Convert(cmyk.TiffsaveBuffer(), "PSD:out.psd");
    }

    private static byte[] DisplayP3Heic()
    {
        using var upright = Quadrants.Draw();
        using var p3 = upright.IccTransform("p3", inputProfile: "srgb");
        return FormatTools.Heic(p3.PngsaveBuffer());
    }

    /// <summary>
    /// As an iPhone stores a portrait photo: the sensor's landscape pixels, an <c>irot</c> box that turns them
    /// upright, and EXIF saying orientation 6 too, which a reader must ignore (the HEIF spec: the boxes rule),
    /// or the photo ends up turned twice.
    /// </summary>
    private static byte[] PortraitHeic()
    {
        using var upright = Quadrants.Draw(64, 96);
        using var sensor = upright.Rot270();
        using var tagged = sensor.Mutate(image => image.Set(GValue.GIntType, "orientation", 6));
        return HeifBoxes.AddRotation(FormatTools.Heic(tagged.JpegsaveBuffer(q: 95)), 3);
    }

    private static byte[] MultiPageTiff()
    {
        using var first = Quadrants.Draw();
        using var second = Image.Black(96, 64).NewFromImage(0, 0, 0).Cast(Enums.BandFormat.Uchar);
        using var pages = Image.Arrayjoin([first, second], across: 1).Mutate(image => image.Set(GValue.GIntType, "page-height", 64));
        return pages.TiffsaveBuffer();
    }
}
