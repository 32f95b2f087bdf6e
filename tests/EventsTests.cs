using System.Net;
using System.Text.Json;
using Asgilook.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary><c>GET /events</c> streams uploads and deletes as Server-Sent Events; <c>/</c> serves the gallery.</summary>
public sealed class EventsTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task UploadsAndDeletesAreStreamedToListeners()
    {
        await using var app = await TestApp.StartAsync();
        using var stream = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.ContentType());
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        var events = app.Services.GetRequiredService<Events.ImageEvents>();
        await Loopback.WaitUntilAsync(() => events.Listeners == 1, "the listener was not registered");

        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        using (await app.Client.DeleteImageAsync(posted)) { }

        var (type, data) = await NextEventAsync(reader);
        Assert.Equal("image", type);
        Assert.Equal(posted.GetProperty("id").GetString(), data.GetProperty("id").GetString());
        Assert.Equal(posted.GetProperty("thumbnails").GetArrayLength(), data.GetProperty("thumbnails").GetArrayLength());
        var (deletedType, deleted) = await NextEventAsync(reader);
        Assert.Equal(("deleted", posted.GetProperty("id").GetString()), (deletedType, deleted.GetProperty("id").GetString()));
        Assert.Null(stream.CacheOutcome());
    }

    [Fact]
    public async Task ListenersOfEveryInstanceSharingRedisHearOfUploadsAndDeletesOnAnyOtherOnce()
    {
        using var storage = new TemporaryFolder("asgilook-events-");
        await using var a = await TestApp.StartAsync(redis, storagePath: storage.Path);
        await using var b = await TestApp.StartAsync(redis, storagePath: storage.Path, keepCache: true);
        using var onA = await a.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var onB = await b.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var readerA = new StreamReader(await onA.Content.ReadAsStreamAsync());
        using var readerB = new StreamReader(await onB.Content.ReadAsStreamAsync());
        await Loopback.WaitUntilAsync(
            () => a.Services.GetRequiredService<Events.ImageEvents>().Listeners == 1 && b.Services.GetRequiredService<Events.ImageEvents>().Listeners == 1,
            "the listeners were not registered");

        var posted = await a.Client.PostImageAsync(TestImages.RandomEllipses());
        using (await b.Client.DeleteImageAsync(posted)) { }
        var second = await b.Client.PostImageAsync(TestImages.RandomEllipses());

        var id = posted.GetProperty("id").GetString();
        var secondId = second.GetProperty("id").GetString();
        foreach (var reader in new[] { readerA, readerB })
        {
            var (type, data) = await NextEventAsync(reader);
            Assert.Equal(("image", id), (type, data.GetProperty("id").GetString()));
            Assert.Equal(posted.GetProperty("thumbnails").GetArrayLength(), data.GetProperty("thumbnails").GetArrayLength());
            var (deletedType, deleted) = await NextEventAsync(reader);
            Assert.Equal(("deleted", id), (deletedType, deleted.GetProperty("id").GetString()));
            // Next is the second upload, not an echo of the first two.
            var (nextType, next) = await NextEventAsync(reader);
            Assert.Equal(("image", secondId), (nextType, next.GetProperty("id").GetString()));
        }

        Assert.Contains(a.Logs.Entries, entry => entry.Message.Contains("Image events: Redis at", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForeignMessagesAreIgnoredAndAnUploadWhileRedisIsAwayIsStillStored()
    {
        await using var app = await TestApp.StartAsync(redis);
        using var stream = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<Events.ImageEvents>().Listeners == 1, "the listener was not registered");

        await redis.Server.Database.PublishAsync(RedisKeys.Events, "not an event");
        await Loopback.WaitUntilAsync(() => app.Logs.Warnings("RedisEventBroadcast").Count == 1, "the foreign message was not noticed");
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var (type, data) = await NextEventAsync(reader);
        Assert.Equal(("image", posted.GetProperty("id").GetString()), (type, data.GetProperty("id").GetString()));

        await redis.Server.StopAsync();
        try
        {
            var whileAway = await app.Client.PostImageAsync(TestImages.RandomEllipses());
            var (typeWhileAway, dataWhileAway) = await NextEventAsync(reader);
            Assert.Equal(("image", whileAway.GetProperty("id").GetString()), (typeWhileAway, dataWhileAway.GetProperty("id").GetString()));
            await Loopback.WaitUntilAsync(
                () => app.Logs.Warnings("RedisEventBroadcast").Any(message => message.Contains("Could not tell other instances", StringComparison.Ordinal)),
                "the failed broadcast was not logged");
        }
        finally
        {
            await redis.Server.StartAsync();
        }
    }

    [Fact]
    public async Task EventsFromRedisAreCheckedAndTheirUrisBuiltAnew()
    {
        await using var app = await TestApp.StartAsync(redis);
        using var stream = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<Events.ImageEvents>().Listeners == 1, "the listener was not registered");
        var id = Guid.NewGuid();

        // Whoever can publish on the channel could send a page a link anywhere; these are dropped or rebuilt.
        foreach (var forged in new object[]
        {
            new { origin = "elsewhere", type = "image", image = new { id = "../../x", image = "/images/x.jpeg", modified = "Mon, 23 Nov 2026 00:49:03 GMT", size = new[] { 64, 64 }, thumbnails = Array.Empty<string>() } },
            new { origin = "elsewhere", type = "image", image = new { id = id.ToString(), image = "/images/x.jpeg", modified = "yesterday", size = new[] { 64, 64 }, thumbnails = Array.Empty<string>() } },
            new { origin = "elsewhere", type = "image", image = new { id = id.ToString(), image = "/images/x.jpeg", modified = "Mon, 23 Nov 2026 00:49:03 GMT", size = new[] { -1, 64 }, thumbnails = Array.Empty<string>() } },
            new { origin = "elsewhere", type = "script", image = new { id = id.ToString(), image = "/images/x.jpeg", modified = "Mon, 23 Nov 2026 00:49:03 GMT", size = new[] { 64, 64 }, thumbnails = Array.Empty<string>() } },
            new
            {
                origin = "elsewhere", type = "image", image = new
                {
                    id = id.ToString(), image = "javascript:alert(1)", modified = "Mon, 23 Nov 2026 00:49:03 GMT", size = new[] { 640, 360 }, thumbnails = new[] { "https://evil.example/x.jpeg" },
                    placeholder = new { preview = "data:text/html;base64,PHNjcmlwdD4=", colour = "red;background:url(https://evil.example/)" },
                },
            },
        })
        {
            await redis.Server.Database.PublishAsync(RedisKeys.Events, JsonSerializer.Serialize(forged));
        }

        var (type, data) = await NextEventAsync(reader);
        Assert.Equal(("image", id.ToString()), (type, data.GetProperty("id").GetString()));
        Assert.Equal($"/images/{id}.jpeg", data.GetProperty("image").GetString());
        Assert.Equal([$"/thumbnails/{id}/320x180.jpeg", $"/thumbnails/{id}/160x90.jpeg"], data.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()));
        Assert.Equal(JsonValueKind.Null, data.GetProperty("placeholder").ValueKind); // a forged placeholder never reaches a page's styles
        await Loopback.WaitUntilAsync(() => app.Logs.Warnings("RedisEventBroadcast").Count == 4, "the forged messages were not all noticed");
    }

    [Fact]
    public async Task GalleryPageIsServedAtTheRoot()
    {
        await using var app = await TestApp.StartAsync();

        using var page = await app.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.ContentType());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/gallery.js\"></script>", html);
        Assert.DoesNotContain("<script>", html); // nothing inline: the policy allows the page's own files only
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        var script = await app.Client.GetStringAsync("/gallery.js");
        Assert.Contains("new EventSource('/events')", script);
        Assert.Contains("srcset", script);
    }

    private static async Task<(string Type, JsonElement Data)> NextEventAsync(StreamReader reader)
    {
        string? type = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && type is not null)
            {
                return (type, JsonSerializer.Deserialize<JsonElement>(line["data: ".Length..]));
            }
        }

        throw new EndOfStreamException("The event stream ended.");
    }
}
