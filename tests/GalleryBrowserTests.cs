using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Asgilook.Tests;

/// <summary>
/// The gallery in a real browser (Debian's headless Chromium, driven by Playwright) against the real
/// server: an upload through one page appears on every open page through /events, and each viewport
/// fetches the thumbnail its width needs.
/// </summary>
public sealed class GalleryBrowserTests
{
    public const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task UploadThroughThePageAppearsLiveAndEachViewportFetchesItsThumbnail()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run ./test.sh, which installs Debian's chromium, or apt-get install chromium.");
        using var temporary = new TemporaryFolder("asgilook-gallery-");
        var storage = temporary.Path;
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage,
            ["ASGI_LOOK_REDIS_HOST"] = null,
        });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(Launch());
        var (wide, wideImages) = await OpenAsync(browser, server, width: 1400);
        var (narrow, narrowImages) = await OpenAsync(browser, server, width: 320);

        await narrow.SetInputFilesAsync("#files", new FilePayload
        {
            Name = "photo.png",
            MimeType = "image/png",
            Buffer = TestImages.RandomEllipses(1280, 720),
        });

        foreach (var page in new[] { narrow, wide })
        {
            await page.WaitForFunctionAsync(
                "() => { const img = document.querySelector('figure img'); return img && img.complete && img.naturalWidth > 0; }",
                null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        }

        Assert.Equal("Uploaded photo.png (1 of 1).", await narrow.TextContentAsync("#status"));
        var narrowWidth = FetchedWidth(narrowImages);
        var wideWidth = FetchedWidth(wideImages);
        Assert.InRange(narrowWidth, 160, 320);
        Assert.True(wideWidth > narrowWidth, $"the 1400 px page fetched {wideWidth} px, the 320 px one {narrowWidth} px");
        Assert.All(narrowImages.Concat(wideImages), image => Assert.Equal((200, "image/jpeg"), (image.Status, image.ContentType)));
    }

    [Fact]
    public async Task ADropOfPhotosArrivesWholeThroughTheRateLimitAndOnlyThisBrowsersOwnGetADeleteButton()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run ./test.sh, which installs Debian's chromium, or apt-get install chromium.");
        using var temporary = new TemporaryFolder("asgilook-gallery-");
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = temporary.Path,
            ["Asgilook__RateLimits__UploadsPerMinute"] = "12", // a token every 5 s once the bucket is empty
        });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(Launch());
        var (uploader, _) = await OpenAsync(browser, server, width: 1000);
        var (stranger, _) = await OpenAsync(browser, server, width: 1000); // its own context: its own localStorage

        // The test shares the browser's client address: it empties the bucket, so the drop meets a 429
        // however fast or slow this machine is (waiting for the limit on uploads' speed alone was a race).
        var before = 0;
        while (true)
        {
            using var answer = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(200, 120)));
            if (answer.StatusCode == System.Net.HttpStatusCode.TooManyRequests)
            {
                break;
            }

            Assert.Equal(System.Net.HttpStatusCode.Created, answer.StatusCode);
            Assert.InRange(++before, 1, 12);
        }

        var dropped = Enumerable.Range(0, 3).Select(i => new FilePayload { Name = $"photo-{i}.png", MimeType = "image/png", Buffer = TestImages.RandomEllipses(200, 120) });
        await uploader.SetInputFilesAsync("#files", dropped);

        await uploader.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Waiting')", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        var all = before + 3;
        foreach (var page in new[] { uploader, stranger })
        {
            await page.WaitForFunctionAsync($"() => document.querySelectorAll('figure').length === {all}", null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        }

        Assert.Equal(all, Directory.GetFiles(temporary.Path, "*.jpeg").Length);
        Assert.Equal(3, await uploader.Locator("figure button").CountAsync());
        Assert.Equal(0, await stranger.Locator("figure button").CountAsync());
        await uploader.Locator("figure button").First.ClickAsync();
        foreach (var page in new[] { uploader, stranger })
        {
            await page.WaitForFunctionAsync($"() => document.querySelectorAll('figure').length === {all - 1}", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        }

        Assert.Equal(all - 1, Directory.GetFiles(temporary.Path, "*.jpeg").Length);
        await uploader.ReloadAsync();
        await uploader.WaitForFunctionAsync("() => document.querySelectorAll('figure button').length === 2", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
    }

    public static BrowserTypeLaunchOptions Launch() => new()
    {
        ExecutablePath = Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
    };

    /// <summary>Opens the gallery at that viewport width, recording every image the page fetches, once /events is connected.</summary>
    private static async Task<(IPage Page, ConcurrentBag<(string Url, int Status, string? ContentType)> Images)> OpenAsync(IBrowser browser, ServerProcess server, int width)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 800 }, DeviceScaleFactor = 1 });
        var images = new ConcurrentBag<(string, int, string?)>();
        page.Response += (_, response) =>
        {
            if (response.Url.Contains("/thumbnails/", StringComparison.Ordinal) || response.Url.Contains("/images/", StringComparison.Ordinal))
            {
                images.Add((response.Url, response.Status, response.Headers.GetValueOrDefault("content-type")));
            }
        };
        await page.GotoAsync($"http://127.0.0.1:{server.Port}/");
        await page.WaitForSelectorAsync("body[data-live='true']");
        return (page, images);
    }

    /// <summary>The width of the one image the page fetched: a thumbnail's from its URI, the original's as "full".</summary>
    private static int FetchedWidth(IEnumerable<(string Url, int Status, string? ContentType)> images)
    {
        var fetched = Assert.Single(images);
        var name = fetched.Url[(fetched.Url.LastIndexOf('/') + 1)..];
        return fetched.Url.Contains("/thumbnails/", StringComparison.Ordinal) ? int.Parse(name[..name.IndexOf('x')], System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue;
    }
}
