using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Microsoft.Extensions.Options;
using NetVips;

namespace Asgilook.Tests;

/// <summary>
/// Decoding bytes from strangers: only the recognised format's loader runs, the untrusted ones cannot,
/// what a decode costs is judged before it starts, it has a deadline, and an SVG fetches nothing.
/// </summary>
public sealed class UntrustedImageTests
{
    [Fact]
    public void LibvipsUntrustedLoadersAreBlockedOnceTheEngineRuns()
    {
        _ = new VipsImageProcessor(Options.Create(new AsgilookOptions()));

        var blocked = Assert.Throws<VipsException>(() => Image.NewFromBuffer(CraftedImages.Ppm()));
        Assert.Contains("not", blocked.Message, StringComparison.OrdinalIgnoreCase);
        using var svg = Image.NewFromBuffer(CraftedImages.SvgDeclaring(8, 8)); // the one untrusted loader let back in
        Assert.Equal(8, svg.Width);
    }

    [Theory]
    [InlineData(6, HttpStatusCode.RequestEntityTooLarge)] // a rotation: the upright copy doubles what the decode needs
    [InlineData(1, HttpStatusCode.Created)]
    public async Task ARotationCountsTwiceAgainstTheDecodeBudget(int orientation, HttpStatusCode expected)
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:MaxDecodeMegabytes"] = "8" });
        // 1600 × 1200 × 3 bands of 8 bits: 5.5 MiB, 11 MiB when it must be turned upright.
        using var image = Image.NewFromBuffer(TestImages.RandomEllipses(1600, 1200));
        using var oriented = image.Mutate(mutable => mutable.Set(GValue.GIntType, "orientation", orientation));
        var jpeg = oriented.JpegsaveBuffer(q: 80);

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(jpeg));

        Assert.Equal(expected, response.StatusCode);
        if (expected != HttpStatusCode.Created)
        {
            var problem = await response.AssertProblemAsync(expected);
            Assert.Contains("11 MiB to decode, more than the 8 MiB", problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task AConversionPastItsDeadlineIs422AndARenderPastItIs503()
    {
        using var storage = new TemporaryFolder("asgilook-deadline-");
        var photo = TestImages.Noise(3000, 2000);
        var slow = new Dictionary<string, string?> { ["Asgilook:ImageWorkTimeout"] = "00:00:00.001" };
        string thumbnail;
        await using (var patient = await TestApp.StartAsync(storagePath: storage.Path))
        {
            thumbnail = (await patient.Client.PostImageAsync(photo)).GetProperty("thumbnails")[0].GetString()!;
        }

        await using var app = await TestApp.StartAsync(settings: slow, storagePath: storage.Path);

        using var upload = await app.Client.PostAsync("/images", new ByteArrayContent(photo));
        var problem = await upload.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("took longer than the 0.001 s", problem.GetProperty("detail").GetString());
        using var render = await app.Client.GetAsync(thumbnail);
        await render.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Single(app.StoredFiles()); // the one the patient server stored
    }

    [Fact]
    public async Task AnSvgFetchesNoExternalReferenceAndIncludesNoFile()
    {
        using var folder = new TemporaryFolder("asgilook-svg-");
        var secret = Path.Combine(folder.Path, "secret.png");
        using (var red = Image.Black(64, 64).NewFromImage(255, 0, 0))
        {
            red.Cast(Enums.BandFormat.Uchar).WriteToFile(secret);
        }

        var text = Path.Combine(folder.Path, "secret.txt");
        await File.WriteAllTextAsync(text, new string('W', 40));
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var connected = listener.AcceptTcpClientAsync();
        await using var app = await TestApp.StartAsync();

        var attempts = new Dictionary<string, string>
        {
            ["http image"] = Svg($"<image href='http://127.0.0.1:{port}/x.png' width='64' height='64'/>"),
            ["xlink image"] = Svg($"<image xlink:href='http://127.0.0.1:{port}/y.png' width='64' height='64'/>"),
            ["file image"] = Svg($"<image href='file://{secret}' width='64' height='64'/>"),
            ["data-less use"] = Svg($"<use href='http://127.0.0.1:{port}/z.svg#a'/>"),
            ["css import"] = Svg($"<style>@import url(http://127.0.0.1:{port}/s.css);</style><rect width='64' height='64' fill='white'/>"),
            ["xinclude"] = Svg($"<text x='0' y='40' font-size='40' fill='black'><xi:include href='file://{text}' parse='text'/></text>"),
            ["external entity"] = $"<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY secret SYSTEM 'file://{text}'>]>" +
                Svg("<text x='0' y='40' font-size='40' fill='black'>&secret;</text>"),
        };
        foreach (var (what, svg) in attempts)
        {
            using var response = await app.Client.PostAsync("/images", new ByteArrayContent(Encoding.UTF8.GetBytes(svg)));
            if (response.StatusCode == HttpStatusCode.Created)
            {
                var stored = await app.Client.GetByteArrayAsync((await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("image").GetString());
                Assert.True(IsBlankWhite(stored), $"the {what} drew something from outside the SVG");
            }
            else
            {
                // Refused before any renderer sees it, naming why.
                var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
                Assert.Contains("SVG is taken without pictures or references", problem.GetProperty("detail").GetString());
            }
        }

        await Task.Delay(200);
        Assert.False(connected.IsCompleted, "an SVG made the server connect out");
    }

    private static string Svg(string body) =>
        "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' xmlns:xi='http://www.w3.org/2001/XInclude' " +
        $"width='64' height='64'><rect width='64' height='64' fill='white'/>{body}</svg>";

    /// <summary>Whether the stored JPEG is white all over: nothing but the SVG's own white rectangle was drawn.</summary>
    private static bool IsBlankWhite(byte[] jpeg)
    {
        using var image = Image.NewFromBuffer(jpeg);
        return image.Min() >= 240;
    }
}
