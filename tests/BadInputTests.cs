using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Asgilook.Imaging;

namespace Asgilook.Tests;

/// <summary>
/// Every kind of bad upload gets a clear 4xx problem, is logged once without its payload, stores
/// nothing, and leaves the server able to take the next valid upload.
/// </summary>
public sealed class BadInputTests
{
    public static TheoryData<string, byte[], HttpStatusCode, string> Uploads() => new()
    {
        { "empty body", [], HttpStatusCode.BadRequest, "empty" },
        { "a text file", Encoding.UTF8.GetBytes("Dear diary,\nthis is not an image.\n"), HttpStatusCode.BadRequest, "text" },
        { "random bytes", RandomBytes(4096), HttpStatusCode.BadRequest, "not an image" },
        { "a PostScript file", "%!PS-Adobe-3.0\nshowpage\n"u8.ToArray(), HttpStatusCode.UnsupportedMediaType, "PostScript" },
        { "a PDF", CraftedImages.Pdf(), HttpStatusCode.UnsupportedMediaType, "PDF" },
        { "a truncated PNG header", TestImages.RandomEllipses()[..20], HttpStatusCode.BadRequest, "PNG" },
        { "a truncated JPEG", Truncated(TestImages.RandomEllipses(format: ".jpg")), HttpStatusCode.BadRequest, "JPEG" },
        { "a truncated PNG", Truncated(TestImages.RandomEllipses(format: ".png")), HttpStatusCode.BadRequest, "PNG" },
        { "a truncated GIF", Truncated(TestImages.RandomEllipses(format: ".gif")), HttpStatusCode.BadRequest, "GIF" },
        { "a truncated WebP", Truncated(TestImages.RandomEllipses(format: ".webp")), HttpStatusCode.BadRequest, "WebP" },
        { "a corrupt PNG", Corrupt(TestImages.RandomEllipses(format: ".png")), HttpStatusCode.BadRequest, "PNG" },
        { "a corrupt JPEG", Corrupt(TestImages.RandomEllipses(format: ".jpg")), HttpStatusCode.BadRequest, "JPEG" },
        { "a PNG declaring 50000x50000", CraftedImages.PngDeclaring(50_000, 50_000), HttpStatusCode.RequestEntityTooLarge, "50000x50000" },
        { "a JPEG declaring 65000x65000", CraftedImages.JpegDeclaring(65_000, 65_000), HttpStatusCode.RequestEntityTooLarge, "65000x65000" },
        { "an SVG declaring 100000x100000", CraftedImages.SvgDeclaring(100_000, 100_000), HttpStatusCode.RequestEntityTooLarge, "100000x100000" },
        { "a 72 MP PNG of 16-bit RGBA (576 MB to decode)", CraftedImages.PngDeclaring(9000, 8000, bitDepth: 16, colourType: 6), HttpStatusCode.RequestEntityTooLarge, "MiB to decode" },
        { "a PPM declaring 2x2 with no pixels", [.. "P6\n2 2\n255\n"u8], HttpStatusCode.BadRequest, "The PPM is truncated or corrupt" },
        { "a matrix file (another untrusted loader)", Encoding.UTF8.GetBytes("2 2\n1 2\n3 4\n"), HttpStatusCode.BadRequest, "text" },
    };

    [Theory]
    [MemberData(nameof(Uploads))]
    public async Task BadUploadIsRefusedClearlyAndLosesNothing(string what, byte[] body, HttpStatusCode status, string detail)
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var listBefore = await app.Client.GetStringAsync("/images");

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(body));

        var problem = await response.AssertProblemAsync(status);
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Single(app.Logs.Warnings(nameof(Asgilook.Http.RejectionLog)), warning => warning.Contains($"{(int)status}", StringComparison.Ordinal));
        await AssertNothingLostAndStillHealthy(app, listBefore, what);
    }

    [Fact]
    public async Task BodyOverTheLimitIsRefusedFromItsContentLength()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:MaxUploadBytes"] = "4096" });
        var listBefore = await app.Client.GetStringAsync("/images");

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(new byte[4097]));

        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("4,096 bytes", problem.GetProperty("detail").GetString());
        await AssertNothingLostAndStillHealthy(app, listBefore, "an oversized body", TestImages.RandomEllipses(64, 64, ".jpg"));
    }

    [Fact]
    public async Task ChunkedBodyIsCutOffOnceItOutgrowsTheLimit()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:MaxUploadBytes"] = "100000" });
        var listBefore = await app.Client.GetStringAsync("/images");
        var endless = new CountingStream(totalBytes: 50_000_000);

        using var response = await app.Client.PostAsync("/images", new StreamContent(endless));

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.InRange(endless.BytesRead, 100_000, 10_000_000);
        await AssertNothingLostAndStillHealthy(app, listBefore, "an oversized chunked body", TestImages.RandomEllipses(64, 64, ".jpg"));
    }

    [Fact]
    public async Task PixelLimitIsASetting()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:MaxPixels"] = "10000" });

        using var tooMany = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(101, 100)));
        using var enough = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(100, 100)));

        await tooMany.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(HttpStatusCode.Created, enough.StatusCode);
    }

    [Fact]
    public async Task RejectionLogHoldsNoPayload()
    {
        await using var app = await TestApp.StartAsync();
        const string secret = "my-bank-password-1234";

        using (await app.Client.PostAsync("/images", new StringContent($"{secret}\n{secret}"))) { }

        Assert.NotEmpty(app.Logs.Warnings(nameof(Asgilook.Http.RejectionLog)));
        Assert.DoesNotContain(app.Logs.Entries, entry => entry.Message.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFloodOfRejectionsLogsAFewEscapedShortLinesAndCountsThemAll()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(services: services => services.AddSingleton(provider =>
            new Asgilook.Http.RejectionLog(provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Asgilook.Http.RejectionLog>>(), clock)));
        using var rejected = new MeasurementCounter(app.Services, "asgilook.requests.rejected", "status");
        var junk = new string('a', 7000);

        // What a flood sends: long paths, and paths that forge a line of their own (CR and LF, percent-encoded).
        for (var i = 0; i < 300; i++)
        {
            var path = i % 2 == 0 ? $"/{junk}{i}" : $"/x%0D%0Ainfo:%20Asgilook.Access[0]%20admin%20key%20accepted{i}";
            using (await app.Client.GetAsync(path)) { }
        }

        var lines = app.Logs.Warnings(nameof(Asgilook.Http.RejectionLog));
        Assert.InRange(lines.Count, 1, Asgilook.Http.RejectionLog.Burst + 10); // 300 rejections, tens of lines at most
        Assert.Equal(300, rejected["404"]); // every one counted all the same
        Assert.All(lines, line => Assert.DoesNotContain('\r', line));
        Assert.All(lines, line => Assert.DoesNotContain('\n', line));
        Assert.All(lines, line => Assert.True(line.Length < 600, $"a log line of {line.Length} characters"));
        Assert.Contains(lines, line => line.Contains("\\x0d\\x0ainfo:", StringComparison.Ordinal));

        // A second later, the lines left out are said in one line.
        clock.Advance(TimeSpan.FromSeconds(1));
        using (await app.Client.GetAsync("/nothing-here")) { }
        Assert.Contains(app.Logs.Warnings(nameof(Asgilook.Http.RejectionLog)), line => line.Contains("more rejected request(s) were not logged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnimatedGifStoresItsFirstFrame()
    {
        await using var app = await TestApp.StartAsync();

        var posted = await app.Client.PostImageAsync(CraftedImages.AnimatedGif());

        Assert.Equal([32, 32], posted.GetProperty("size").EnumerateArray().Select(side => side.GetInt32()));
        using var stored = NetVips.Image.NewFromBuffer(await app.Client.GetByteArrayAsync(posted.GetProperty("image").GetString()));
        var pixel = stored.Getpoint(16, 16);
        Assert.True(pixel[0] > 200 && pixel[2] < 60, $"the first (red) frame should be stored, not {string.Join(',', pixel)}");
    }

    [Fact]
    public async Task PalettePngBecomesAnSrgbJpeg()
    {
        await using var app = await TestApp.StartAsync();

        var posted = await app.Client.PostImageAsync(CraftedImages.PalettePng());

        using var stored = NetVips.Image.NewFromBuffer(await app.Client.GetByteArrayAsync(posted.GetProperty("image").GetString()));
        Assert.Equal((3, NetVips.Enums.BandFormat.Uchar), (stored.Bands, stored.Format));
    }

    [Fact]
    public void FormatsAreRecognisedByTheirSignatures()
    {
        Assert.Equal("JPEG", ImageFormats.Sniff(TestImages.RandomEllipses(8, 8, ".jpg"))?.Name);
        Assert.Equal("PNG", ImageFormats.Sniff(TestImages.RandomEllipses(8, 8, ".png"))?.Name);
        Assert.Equal("GIF", ImageFormats.Sniff(TestImages.RandomEllipses(8, 8, ".gif"))?.Name);
        Assert.Equal("WebP", ImageFormats.Sniff(TestImages.RandomEllipses(8, 8, ".webp"))?.Name);
        Assert.Equal("TIFF", ImageFormats.Sniff(TestImages.RandomEllipses(8, 8, ".tif"))?.Name);
        Assert.Equal("AVIF", ImageFormats.Sniff(TestImages.RandomEllipses(8, 8, ".avif"))?.Name);
        Assert.Equal("SVG", ImageFormats.Sniff(CraftedImages.SvgDeclaring(8, 8))?.Name);
        Assert.Equal(("BMP", true), ImageFormats.Sniff(CraftedImages.Bmp()) is { } bmp ? (bmp.Name, bmp.Supported) : default);
        Assert.Equal(("PDF", false), ImageFormats.Sniff(CraftedImages.Pdf()) is { } pdf ? (pdf.Name, pdf.Supported) : default);
        Assert.Null(ImageFormats.Sniff("plain text"u8));
        Assert.Null(ImageFormats.Sniff([]));
    }

    [Theory]
    [InlineData("plain ascii\r\n\ttext", true)]
    [InlineData("ünïcödé tëxt ✓", true)]
    [InlineData("", true)]
    public void TextIsTextEvenCutMidCharacter(string text, bool expected)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(expected, ImageFormats.LooksLikeText(bytes));
        Assert.Equal(expected, ImageFormats.LooksLikeText(bytes.Concat(Encoding.UTF8.GetBytes(new string('é', 3000))).ToArray()));
    }

    [Fact]
    public void BinaryIsNotText()
    {
        Assert.False(ImageFormats.LooksLikeText([0x41, 0x00, 0x42]));
        Assert.False(ImageFormats.LooksLikeText([0xC3, 0x28, 0x41, 0x41, 0x41, 0x41]));
    }

    private static async Task AssertNothingLostAndStillHealthy(TestApp app, string listBefore, string what, byte[]? valid = null)
    {
        Assert.True(listBefore == await app.Client.GetStringAsync("/images"), $"the list changed after {what}");
        var listed = JsonSerializer.Deserialize<JsonElement>(listBefore).GetArrayLength();
        Assert.Equal(listed, app.StoredFiles().Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(app.StoragePath, Storage.ImageFiles.IncomingFolder)));

        await app.Client.PostImageAsync(valid ?? TestImages.RandomEllipses());
        Assert.Equal(listed + 1, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        bytes[0] = 0x01; // no signature starts with 0x01
        return bytes;
    }

    private static byte[] Truncated(byte[] image) => image[..(image.Length * 2 / 3)];

    /// <summary>
    /// Overwrites a quarter of the compressed data, past the header, with noise: damage the decoder
    /// notices (a few flipped bytes in JPEG entropy data may decode silently, as garbled pixels).
    /// </summary>
    private static byte[] Corrupt(byte[] image)
    {
        var corrupt = (byte[])image.Clone();
        new Random(7).NextBytes(corrupt.AsSpan(corrupt.Length / 2, corrupt.Length / 4));
        return corrupt;
    }

    /// <summary>A body of <c>totalBytes</c> zeros, of unknown length (so it is sent chunked), counting what is read.</summary>
    private sealed class CountingStream(long totalBytes) : Stream
    {
        private long _read;

        public long BytesRead => Interlocked.Read(ref _read);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, totalBytes - _read);
            Array.Clear(buffer, offset, n);
            Interlocked.Add(ref _read, n);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
