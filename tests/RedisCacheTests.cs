using System.Net;
using Asgilook.Caching;
using MessagePack;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Asgilook.Tests;

/// <summary>What only a real Redis can show: the stored format, the time-to-live, the connection's lifetime.</summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class RedisCacheTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    /// <summary>The tutorial's two items first, then the validators a hit needs to answer 304.</summary>
    [Fact]
    public async Task CachedResponseIsMessagePackArrayOfContentTypeAndBody()
    {
        await using var app = await TestApp.StartAsync(redis);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var uri = $"/thumbnails/{FirstId}/160x90.jpeg";
        var served = await app.Client.GetByteArrayAsync(uri);

        var key = $"asgilook:{uri}";
        byte[]? stored = await redis.Server.Database.StringGetAsync(key);

        Assert.NotNull(stored);
        var item = MessagePackSerializer.Deserialize<object[]>(stored);
        Assert.Equal(3, item.Length);
        Assert.Equal("image/jpeg", item[0]);
        Assert.Equal(served, item[1]);
        var validators = Assert.IsType<Dictionary<object, object>>(item[2]);
        Assert.Equal(["Cache-Control", "ETag", "Last-Modified"], validators.Keys.Cast<string>().Order());
        Assert.Equal("public, max-age=31536000, immutable", validators["Cache-Control"]);
        var ttl = await redis.Server.Database.KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(3500), TimeSpan.FromSeconds(3600));
    }

    [Fact]
    public async Task ConnectionOpensOnStartupAndClosesOnShutdown()
    {
        var app = await TestApp.StartAsync(redis);
        try
        {
            Assert.Contains("asgilook", await redis.Server.ClientNamesAsync());
        }
        finally
        {
            await app.DisposeAsync();
        }

        await Loopback.WaitUntilAsync(
            async () => !(await redis.Server.ClientNamesAsync()).Contains("asgilook"),
            "the app's Redis connection stayed open after shutdown");
    }

    [Fact]
    public async Task DatabaseNumberOfTheAddressIsUsed()
    {
        await using var app = await TestApp.StartAsync(
            redis, new Dictionary<string, string?> { ["Asgilook:RedisHost"] = $"redis://127.0.0.1:{redis.Server.Port}/3" });

        await app.Client.GetStringAsync("/images");

        var admin = redis.Server.Server;
        Assert.Equal(1, await admin.DatabaseSizeAsync(3));
        Assert.Equal(0, await admin.DatabaseSizeAsync(0));
    }

    [Fact]
    public async Task UnreadableEntryIsReplacedNotServed()
    {
        await using var app = await TestApp.StartAsync(redis);
        await redis.Server.Database.StringSetAsync("asgilook:/images", "not messagepack");

        using var first = await app.Client.GetAsync("/images");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("Miss", first.CacheOutcome());
        Assert.Equal("[]", await first.Content.ReadAsStringAsync());

        using var second = await app.Client.GetAsync("/images");
        Assert.Equal("Hit", second.CacheOutcome());
        Assert.Equal("[]", await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TruncatedOrForeignEntriesAreNeverServedAndAreReplaced()
    {
        await using var writer = await TestApp.StartAsync(redis);
        var posted = await writer.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
        var real = await writer.Client.GetByteArrayAsync(thumbnail);
        var stored = (byte[])(await redis.Server.Database.StringGetAsync($"asgilook:{thumbnail}"))!;

        // Read by an instance whose memory tier does not hold the thumbnail: the writer's still holds its
        // own good copy, and keeps serving it whatever Redis holds meanwhile.
        await using var app = await TestApp.StartAsync(redis, storagePath: writer.StoragePath, keepCache: true);
        using (var fromMemory = await writer.Client.GetAsync(thumbnail))
        {
            Assert.Equal("Hit", fromMemory.CacheOutcome());
        }

        // Cut short (a full Redis, a broken proxy), or written by someone else with a type Asgilook never caches.
        var foreign = MessagePackSerializer.Serialize(new object[] { "text/html", "<script>alert(1)</script>"u8.ToArray() });
        foreach (var bad in new[] { stored[..(stored.Length / 2)], stored[..3], foreign })
        {
            await redis.Server.Database.StringSetAsync($"asgilook:{thumbnail}", bad);

            using var first = await app.Client.GetAsync(thumbnail);
            Assert.Equal((HttpStatusCode.OK, "Miss", "image/jpeg"), (first.StatusCode, first.CacheOutcome(), first.ContentType()));
            Assert.Equal(real, await first.Content.ReadAsByteArrayAsync());
            // The first was answered from the kept render, which is put in the cache once it has been sent.
            await Loopback.WaitUntilAsync(
                async () => !((byte[]?)await redis.Server.Database.StringGetAsync($"asgilook:{thumbnail}") ?? []).AsSpan().SequenceEqual(bad),
                "the bad entry was not replaced");
            using var second = await app.Client.GetAsync(thumbnail);
            Assert.Equal("Hit", second.CacheOutcome());
            app.Services.GetRequiredService<MemoryTier>().Clear(); // the next bad bytes are read from Redis again
        }

        using (var stillGood = await writer.Client.GetAsync(thumbnail))
        {
            Assert.Equal(real, await stillGood.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(3, app.Logs.Warnings("ResponseCache").Count(warning => warning.Contains("is not a cached response", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task UnreachableRedisServesUncached()
    {
        var nobody = Loopback.FreePort();
        await using var app = await TestApp.StartAsync(
            redis, new Dictionary<string, string?> { ["Asgilook:RedisHost"] = $"redis://127.0.0.1:{nobody}/0" });

        for (var i = 0; i < 2; i++)
        {
            using var list = await app.Client.GetAsync("/images");
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.Equal("Miss", list.CacheOutcome());
        }

        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        using var thumbnail = await app.Client.GetAsync($"/thumbnails/{FirstId}/160x90.jpeg");
        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
    }
}
