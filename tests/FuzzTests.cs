using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Configuration;
using Xunit.Abstractions;

namespace Asgilook.Tests;

/// <summary>
/// A bounded fuzz test: a few hundred truncated and mutated images, made at test time from real
/// encodings of every format, under each engine. Every answer must be 201 or a 4xx problem, never a 5xx, and every image that ends up
/// listed must decode at its listed size.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Cases = 300;

    /// <summary>The formats libvips reads itself, and those its fallback decoders (ImageSharp's, ImageMagick) read.</summary>
    public static readonly Dictionary<string, Func<byte[][]>> Corpora = new()
    {
        ["libvips"] = () => [.. new[] { ".jpg", ".png", ".gif", ".webp", ".tif" }.Select(format => TestImages.RandomEllipses(96, 64, format, ellipses: 6))],
        ["fallback"] = () =>
        {
            var png = TestImages.RandomEllipses(96, 64, ellipses: 6);
            return
            [
                FormatTools.Convert(png, "BMP3:out.bmp"), FormatTools.Convert(png, "BMP3:out.bmp", "-type", "Palette", "-compress", "RLE"),
                FormatTools.Netpbm(png, "ppmtotga -rgb"), FormatTools.Netpbm(png), FormatTools.Netpbm(png, "pnmtoplainpnm"),
                FormatTools.Convert(png, "ICO:out.ico"), FormatTools.Convert(png, "PSD:out.psd"), FormatTools.Heic(png),
                FormatTools.JpegXl(png), FormatTools.Jpeg2000(png),
            ];
        },
    };

    [Theory]
    [InlineData("libvips", ImageEngine.Vips)]
    [InlineData("fallback", ImageEngine.Vips)]
    [InlineData("libvips", ImageEngine.ImageSharp)]
    [InlineData("fallback", ImageEngine.ImageSharp)]
    public async Task MutatedUploadsNeverBreakTheServerOrTheStore(string corpus, ImageEngine engine)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var originals = Corpora[corpus]();
        var bodies = Enumerable.Range(0, Cases).Select(_ => Mutate(originals[random.Next(originals.Length)], originals, random)).ToArray();

        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ImageEngine"] = engine.ToString() });
        var statuses = new HttpStatusCode[Cases];
        await Parallel.ForAsync(0, Cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            using var response = await app.Client.PostAsync("/images", new ByteArrayContent(bodies[i]));
            statuses[i] = response.StatusCode;
            if (response.StatusCode != HttpStatusCode.Created)
            {
                Assert.True((int)response.StatusCode is >= 400 and < 500, $"case {i} ({corpus} under {engine}, seed {seed}) answered {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.ContentType());
            }
        });

        var created = statuses.Count(status => status == HttpStatusCode.Created);
        output.WriteLine($"{created} stored, {Cases - created} refused");
        Assert.InRange(created, 1, Cases - 1);

        var listed = (await app.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().ToArray();
        Assert.Equal(created, listed.Length);
        var contents = new HashSet<string>();
        foreach (var image in listed)
        {
            var jpeg = await app.Client.GetByteArrayAsync(image.GetProperty("image").GetString());
            contents.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(jpeg)));
            var size = image.GetProperty("size");
            Assert.Equal((size[0].GetInt32(), size[1].GetInt32()), TestImages.SizeOf(jpeg));
            Assert.Equal("jpegload_buffer", TestImages.FormatOf(jpeg));
        }

        // Mutations that decode to the same picture are one content, stored once.
        Assert.Equal(contents.Count, app.StoredFiles().Length);
    }

    private static byte[] Mutate(byte[] original, byte[][] others, Random random)
    {
        var data = (byte[])original.Clone();
        switch (random.Next(6))
        {
            case 0: // truncated anywhere
                return data[..random.Next(1, data.Length)];
            case 1: // a few flipped bytes
                for (var i = random.Next(1, 9); i > 0; i--)
                {
                    data[random.Next(data.Length)] ^= (byte)random.Next(1, 256);
                }

                return data;
            case 2: // a run overwritten with noise
                var start = random.Next(data.Length);
                random.NextBytes(data.AsSpan(start, Math.Min(random.Next(1, 256), data.Length - start)));
                return data;
            case 3: // a chunk cut out
                var from = random.Next(data.Length);
                var length = Math.Min(random.Next(1, 512), data.Length - from);
                return [.. data[..from], .. data[(from + length)..]];
            case 4: // one format's header on another's body
                var other = others[random.Next(others.Length)];
                var split = random.Next(8, 64);
                return [.. data[..Math.Min(split, data.Length)], .. other[Math.Min(split, other.Length)..]];
            default: // the header alone, or the header and garbage
                var header = data[..Math.Min(random.Next(4, 128), data.Length)];
                var tail = new byte[random.Next(0, 256)];
                random.NextBytes(tail);
                return [.. header, .. tail];
        }
    }
}
