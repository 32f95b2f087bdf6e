using System.Net;
using System.Text.Json;
using Asgilook.Redis;
using Asgilook.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary><c>GET /events</c> streams uploads and deletes as Server-Sent Events, from this instance and every other.</summary>
[Trait(Needs.Trait, Needs.Redis)]
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
        using var reader = await ListenAsync(app);

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
        using var reader = await ListenAsync(app);
        var id = Guid.NewGuid();

        // Whoever can publish on the channel could send a page a link anywhere. A message is facts only, each checked:
        // these are dropped, or their URIs built anew (whatever else a message carries is never read).
        const string Modified = "Mon, 23 Nov 2026 00:49:03 GMT";
        foreach (var forged in new object[]
        {
            new { origin = "elsewhere", type = "uploaded", id = "../../x", width = 64, height = 64, modified = Modified },
            new { origin = "elsewhere", type = "uploaded", id = id.ToString(), width = 64, height = 64, modified = "yesterday" },
            new { origin = "elsewhere", type = "uploaded", id = id.ToString(), width = -1, height = 64, modified = Modified },
            new { origin = "elsewhere", type = "uploaded", id = id.ToString(), width = 2_000_000, height = 64, modified = Modified },
            new { origin = "elsewhere", type = "script", id = id.ToString(), width = 64, height = 64, modified = Modified },
            new
            {
                origin = "elsewhere", type = "uploaded", id = id.ToString(), width = 640, height = 360, modified = Modified,
                image = "javascript:alert(1)", thumbnails = new[] { "https://evil.example/x.jpeg" },
                placeholder = new { preview = "data:text/html;base64,PHNjcmlwdD4=", colour = "red;background:url(https://evil.example/)" },
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
        await Loopback.WaitUntilAsync(() => app.Logs.Warnings("RedisEventBroadcast").Count == 5, "the forged messages were not all noticed");
    }

    [Fact]
    public async Task AChangeEvictsTheListButIsNotStreamed()
    {
        await using var app = await TestApp.StartAsync();
        var first = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        using var reader = await ListenAsync(app);
        using (await app.Client.GetAsync("/images")) { }
        using (var cached = await app.Client.GetAsync("/images"))
        {
            Assert.Equal("Hit", cached.CacheOutcome());
        }

        // What the placeholder backfill publishes: the list shows something new of the image, nothing a page must be told.
        await app.Services.GetRequiredService<IImageEventPublisher>().PublishAsync(new ImageChanged(Guid.Parse(first.GetProperty("id").GetString()!)));

        using (var afterChange = await app.Client.GetAsync("/images"))
        {
            Assert.Equal("Miss", afterChange.CacheOutcome());
        }

        var second = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var (type, data) = await NextEventAsync(reader);
        Assert.Equal(("image", second.GetProperty("id").GetString()), (type, data.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task DeletesAndChangesFromRedisNameAnImageOrAreDropped()
    {
        await using var app = await TestApp.StartAsync(redis);
        using var reader = await ListenAsync(app);
        var id = Guid.NewGuid();

        foreach (var forged in new object[]
        {
            new { origin = "elsewhere", type = "deleted", id = "../../x" },
            new { origin = "elsewhere", type = "deleted", id = "<script>" },
            new { origin = "elsewhere", type = "changed", id = "" },
            new { origin = "elsewhere", type = "deleted" },
            new { type = "deleted", id = id.ToString() },
            new { origin = "elsewhere", type = "deleted", id = id.ToString() },
        })
        {
            await redis.Server.Database.PublishAsync(RedisKeys.Events, JsonSerializer.Serialize(forged));
        }

        var (type, data) = await NextEventAsync(reader);
        Assert.Equal(("deleted", id.ToString()), (type, data.GetProperty("id").GetString()));
        await Loopback.WaitUntilAsync(() => app.Logs.Warnings("RedisEventBroadcast").Count == 5, "the forged messages were not all noticed");
        Assert.DoesNotContain(app.Logs.Entries, entry => entry.Message.Contains("<script>", StringComparison.Ordinal));
    }

    /// <summary>Opens <c>GET /events</c> on the app and waits until the app counts the listener.</summary>
    private static async Task<StreamReader> ListenAsync(TestApp app)
    {
        var stream = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<Events.ImageEvents>().Listeners == 1, "the listener was not registered");
        return reader;
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
