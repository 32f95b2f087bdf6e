using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Asgilook.Tests;

/// <summary>
/// The gallery in a real browser (Debian's headless Chromium, driven by Playwright) against the real
/// server: an upload through one page appears on every open page through /events, and each viewport
/// fetches the thumbnail its width needs.
/// </summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class GalleryBrowserTests
{
    public const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task UploadThroughThePageAppearsLiveAndEachViewportFetchesTheAvifItsColumnNeeds()
    {
        await using var gallery = await GallerySession.StartAsync(new Dictionary<string, string?> { ["ASGI_LOOK_REDIS_HOST"] = null });
        var (server, browser) = (gallery.Server, gallery.Browser);
        // The width gallery.css draws a picture at each viewport: 1, 2 or 4 columns, 1.5rem padding, 1rem gaps.
        var viewports = new[] { (Width: 320, Drawn: 320 - 48), (Width: 1000, Drawn: (1000 - 64) / 2), (Width: 1920, Drawn: (1920 - 96) / 4) };
        var pages = new List<(IPage Page, ConcurrentBag<(string Url, int Status, string? ContentType)> Images, int Drawn)>();
        foreach (var (width, drawn) in viewports)
        {
            var (page, images) = await OpenAsync(browser, server, width);
            pages.Add((page, images, drawn));
        }

        await pages[0].Page.SetInputFilesAsync("#files", new FilePayload
        {
            Name = "photo.png",
            MimeType = "image/png",
            Buffer = TestImages.RandomEllipses(1280, 720),
        });

        foreach (var (page, _, _) in pages)
        {
            await page.WaitForFunctionAsync(
                "() => { const img = document.querySelector('figure img'); return img && img.complete && img.naturalWidth > 0; }",
                null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        }

        Assert.Equal("Uploaded photo.png (1 of 1).", await pages[0].Page.TextContentAsync("#status"));
        int[] offered = [640, 320, 160, 80];
        foreach (var (_, images, drawn) in pages)
        {
            var fetched = Assert.Single(images);
            Assert.Equal((200, "image/avif"), (fetched.Status, fetched.ContentType));
            Assert.Contains("/thumbnails/", fetched.Url, StringComparison.Ordinal); // never the original
            Assert.Equal(offered.Where(width => width >= drawn).Min(), FetchedWidth(images));
        }
    }

    [Fact]
    public async Task ADropOfPhotosArrivesWholeThroughTheRateLimitAndOnlyThisBrowsersOwnGetADeleteButton()
    {
        await using var gallery = await GallerySession.StartAsync(new Dictionary<string, string?>
        {
            ["Asgilook__RateLimits__UploadsPerMinute"] = "12", // a token every 5 s once the bucket is empty
        });
        var (temporary, server, browser) = (gallery.Storage, gallery.Server, gallery.Browser);
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

    [Fact]
    public async Task AKeyboardAloneUploadsAndEachFileOfADropGetsItsOwnResult()
    {
        await using var gallery = await GallerySession.StartAsync();
        var (temporary, server, browser) = (gallery.Storage, gallery.Server, gallery.Browser);
        var (page, _) = await OpenAsync(browser, server, width: 1000);
        await page.WaitForSelectorAsync("#empty", new PageWaitForSelectorOptions { Timeout = 10_000 }); // an empty gallery says so

        await page.Keyboard.PressAsync("Tab"); // the first focusable thing on the page is the upload button
        Assert.Equal("choose", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        var chooser = await page.RunAndWaitForFileChooserAsync(() => page.Keyboard.PressAsync("Enter"));
        await chooser.SetFilesAsync(new[]
        {
            new FilePayload { Name = "first.png", MimeType = "image/png", Buffer = TestImages.RandomEllipses(320, 200) },
            new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "not an image"u8.ToArray() },
            new FilePayload { Name = "second.png", MimeType = "image/png", Buffer = TestImages.RandomEllipses(200, 320) },
        });

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#results li').length === 3", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        var lines = await page.Locator("#results li").AllTextContentsAsync();
        Assert.Equal("first.png: uploaded", lines[0]);
        Assert.StartsWith("notes.txt: refused: The body is text, not an image", lines[1]);
        Assert.Equal("second.png: uploaded", lines[2]);
        Assert.Equal(2, await page.Locator("figure").CountAsync());
        Assert.False(await page.IsVisibleAsync("#empty"));
        var alts = await page.Locator("figure img").EvaluateAllAsync<string[]>("images => images.map(image => image.alt)");
        Assert.All(alts, alt => Assert.Matches(@"^A \d+×\d+ photo, uploaded ", alt));
    }

    [Fact]
    public async Task AModerationRefusalIsShownAsTextAndTheKeysQuotaIsShownAndHeld()
    {
        await using var hook = await HookServer.StartAsync();
        var reviews = 0;
        hook.Answer = context => Interlocked.Increment(ref reviews) == 2
            ? HookServer.Answering(403, "text/plain", "<img src=x onerror=\"document.title='owned'\">Off-topic here.")(context)
            : Task.CompletedTask;
        await using var gallery = await GallerySession.StartAsync(new Dictionary<string, string?>
        {
            ["Asgilook__UploadKeys__0"] = Secrets.UploadKey,
            ["Asgilook__Quotas__ImagesPerKey"] = "2",
            ["Asgilook__Moderation__Url"] = hook.Url,
        });
        var page = await gallery.Browser.NewPageAsync();
        await page.AddInitScriptAsync($"localStorage.setItem('asgilook-upload-key', '{Secrets.UploadKey}')");
        await page.GotoAsync($"http://127.0.0.1:{gallery.Server.Port}/");
        await page.WaitForSelectorAsync("#usage:not([hidden])");
        Assert.Equal("Your upload key stores 0 of 2 images, 0.0 MiB.", await page.TextContentAsync("#usage"));

        var chooser = await page.RunAndWaitForFileChooserAsync(() => page.ClickAsync("#choose"));
        await chooser.SetFilesAsync(Enumerable.Range(1, 4).Select(n =>
            new FilePayload { Name = $"{n}.png", MimeType = "image/png", Buffer = TestImages.RandomEllipses(320, 200) }));

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#results li').length === 4", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        var lines = await page.Locator("#results li").AllTextContentsAsync();
        Assert.Equal("1.png: uploaded", lines[0]);
        Assert.Equal("2.png: refused: <img src=x onerror=\"document.title='owned'\">Off-topic here.", lines[1]);
        Assert.Equal("3.png: uploaded", lines[2]);
        Assert.StartsWith("4.png: refused: This upload key may store 2 images (Quotas:ImagesPerKey)", lines[3], StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#results img").CountAsync());
        Assert.NotEqual("owned", await page.TitleAsync());
        await page.WaitForFunctionAsync("() => document.getElementById('usage').textContent.startsWith('Your upload key stores 2 of 2 images')");
        Assert.Equal(2, Directory.GetFiles(gallery.Storage.Path, "*.jpeg").Length);
    }

    [Fact]
    public async Task AnUploadMadeWhileThePageWasCutOffAppearsOnceItReconnects()
    {
        await using var gallery = await GallerySession.StartAsync();
        var (temporary, server, browser) = (gallery.Storage, gallery.Server, gallery.Browser);
        var (page, _) = await OpenAsync(browser, server, width: 1000);
        var environment = new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = temporary.Path };

        // The server goes away; while the page is cut off, another instance on the same storage takes an upload
        // (so no event about it ever reaches this page); then the server is back on the page's address.
        await server.DisposeAsync();
        await page.WaitForSelectorAsync("body[data-live='false']", new PageWaitForSelectorOptions { Timeout = 15_000, State = WaitForSelectorState.Attached });
        string id;
        await using (var other = await ServerProcess.StartAsync(environment))
        {
            id = (await other.Client.PostImageAsync(TestImages.RandomEllipses(320, 200))).GetProperty("id").GetString()!;
        }

        await using var back = await ServerProcess.StartAsync(environment, port: server.Port);

        await page.WaitForSelectorAsync($"#image-{id}", new PageWaitForSelectorOptions { Timeout = 30_000, State = WaitForSelectorState.Attached });
        Assert.Equal(1, await page.Locator("figure").CountAsync());
    }

    [Fact]
    public async Task TheNewestPageComesFirstAndTheNextScrollsIn()
    {
        await using var gallery = await GallerySession.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            ids.Add((await gallery.Server.Client.PostImageAsync(TestImages.RandomEllipses(160, 90, ellipses: 2))).GetProperty("id").GetString()!);
        }

        var page = await gallery.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1920, Height = 600 } });
        await page.GotoAsync($"http://127.0.0.1:{gallery.Server.Port}/");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('figure').length === 24", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        Assert.Equal($"image-{ids[^1]}", await page.EvaluateAsync<string>("() => document.querySelector('figure').id")); // newest first

        await page.EvaluateAsync("() => window.scrollTo(0, document.body.scrollHeight)");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('figure').length === 30", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        var shown = await page.Locator("figure").EvaluateAllAsync<string[]>("figures => figures.map(figure => figure.id)");
        Assert.Equal(Enumerable.Reverse(ids).Select(id => $"image-{id}"), shown);
    }

    [Fact]
    public async Task AnAnimatedGifIsShownThroughItsAnimatedWebp()
    {
        await using var gallery = await GallerySession.StartAsync();
        await gallery.Server.Client.PostImageAsync(TestImages.Animated(1280, 720, frames: 4, ".gif"));
        var page = await gallery.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 800 } });
        var fetched = await ThumbnailTypesFetchedOpeningAsync(page, gallery.Server);

        // Chromium decodes AVIF, and still takes the WebP: the page offers no AVIF of an animated image.
        Assert.Equal("image/webp", Assert.Single(fetched));
        Assert.Equal(0, await page.Locator("figure source[type='image/avif']").CountAsync());
        var src = await page.EvaluateAsync<string>("() => document.querySelector('figure img').currentSrc");
        using var frames = NetVips.Image.WebploadBuffer(await gallery.Server.Client.GetByteArrayAsync(new Uri(src).AbsolutePath), n: -1);
        Assert.Equal(4, frames.Height / frames.PageHeight);
    }

    [Fact]
    public async Task WithoutAnAvifSourceTheBrowserTakesTheWebp()
    {
        await using var gallery = await GallerySession.StartAsync();
        await gallery.Server.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var page = await gallery.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 800 } });
        // As a server whose engine renders no AVIF (ImageSharp) lists it: the list's sources without image/avif.
        await page.RouteAsync("**/images?*", async route =>
        {
            var response = await route.FetchAsync();
            var images = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!.AsArray();
            foreach (var image in images)
            {
                image!["sources"]!.AsObject().Remove("image/avif");
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = images.ToJsonString() });
        });
        var fetched = await ThumbnailTypesFetchedOpeningAsync(page, gallery.Server);

        Assert.Equal("image/webp", Assert.Single(fetched));
        Assert.EndsWith("/640x360.webp", await page.EvaluateAsync<string>("() => document.querySelector('figure img').currentSrc"));
    }

    [Fact]
    public async Task ThePlaceholderIsPaintedUntilTheThumbnailArrives()
    {
        await using var gallery = await GallerySession.StartAsync();
        var (server, browser) = (gallery.Server, gallery.Browser);
        var uploaded = await server.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        var placeholder = uploaded.GetProperty("placeholder");
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 800 } });
        var release = new TaskCompletionSource();
        await page.RouteAsync("**/thumbnails/**", async route => { await release.Task; await route.ContinueAsync(); });

        await page.GotoAsync($"http://127.0.0.1:{server.Port}/");
        await page.WaitForSelectorAsync("figure img");
        var painted = await page.EvaluateAsync<string[]>("() => { const img = document.querySelector('figure img'); return [img.style.backgroundImage, img.style.backgroundColor]; }");
        var (image, colour) = (painted[0], painted[1]);
        Assert.Equal($"url(\"{placeholder.GetProperty("preview").GetString()}\")", image);
        var rgb = Convert.FromHexString(placeholder.GetProperty("colour").GetString()![1..]);
        Assert.Equal($"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})", colour);
        Assert.False(await page.EvaluateAsync<bool>("() => document.querySelector('figure img').complete && document.querySelector('figure img').naturalWidth > 0"));

        release.SetResult();
        await page.WaitForFunctionAsync("() => document.querySelector('figure img').style.backgroundImage === 'none'", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
    }

    /// <summary>A server on a storage folder of its own, and Debian's Chromium to look at it.</summary>
    private sealed class GallerySession : IAsyncDisposable
    {
        private GallerySession(TemporaryFolder storage, ServerProcess server, IPlaywright playwright, IBrowser browser) =>
            (Storage, Server, Playwright, Browser) = (storage, server, playwright, browser);

        public TemporaryFolder Storage { get; }

        public ServerProcess Server { get; }

        public IPlaywright Playwright { get; }

        public IBrowser Browser { get; }

        /// <param name="settings">Environment variables for the server besides its storage folder.</param>
        public static async Task<GallerySession> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
        {
            Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run ./test.sh, which installs Debian's chromium, or apt-get install chromium.");
            var storage = new TemporaryFolder("asgilook-gallery-");
            var environment = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["ASGI_LOOK_STORAGE_PATH"] = storage.Path };
            var server = await ServerProcess.StartAsync(environment);
            var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
            return new GallerySession(storage, server, playwright, await playwright.Chromium.LaunchAsync(Launch()));
        }

        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            Playwright.Dispose();
            await Server.DisposeAsync();
            Storage.Dispose();
        }
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

    /// <summary>Opens the gallery and waits for its first picture: the media types of the thumbnails it fetched.</summary>
    private static async Task<ConcurrentBag<string?>> ThumbnailTypesFetchedOpeningAsync(IPage page, ServerProcess server)
    {
        var fetched = new ConcurrentBag<string?>();
        page.Response += (_, response) =>
        {
            if (response.Url.Contains("/thumbnails/", StringComparison.Ordinal))
            {
                fetched.Add(response.Headers.GetValueOrDefault("content-type"));
            }
        };

        await page.GotoAsync($"http://127.0.0.1:{server.Port}/");
        await page.WaitForFunctionAsync("() => { const img = document.querySelector('figure img'); return img && img.complete && img.naturalWidth > 0; }");
        return fetched;
    }

    /// <summary>The width of the one image the page fetched: a thumbnail's from its URI, the original's as "full".</summary>
    private static int FetchedWidth(IEnumerable<(string Url, int Status, string? ContentType)> images)
    {
        var fetched = Assert.Single(images);
        var name = fetched.Url[(fetched.Url.LastIndexOf('/') + 1)..];
        return fetched.Url.Contains("/thumbnails/", StringComparison.Ordinal) ? int.Parse(name[..name.IndexOf('x')], System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue;
    }
}
