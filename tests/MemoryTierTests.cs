using System.Net;
using System.Net.Http.Json;
using Asgilook.Caching;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>The memory tier in front of Redis: what it answers without a round trip, and that it never answers what Redis would not.</summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class MemoryTierTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    /// <summary>How many reads (GET, MGET) Redis has served since it started.</summary>
    private async Task<long> RedisReadsAsync()
    {
        var stats = (await redis.Server.Server.InfoAsync("commandstats")).SelectMany(group => group).ToArray();
        return stats.Where(pair => pair.Key is "cmdstat_get" or "cmdstat_mget")
            .Sum(pair => long.Parse(pair.Value.Split(',')[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task AThumbnailHitCostsNoRoundTripAndTheListOneSmallRead()
    {
        await using var app = await TestApp.StartAsync(redis);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = $"/thumbnails/{FirstId}/160x90.jpeg";
        var body = await app.Client.GetByteArrayAsync(thumbnail);
        using (await app.Client.GetAsync("/images")) { }

        var before = await RedisReadsAsync();
        for (var i = 0; i < 10; i++)
        {
            using var hit = await app.Client.GetAsync(thumbnail);
            Assert.Equal((HttpStatusCode.OK, "Hit"), (hit.StatusCode, hit.CacheOutcome()));
            Assert.Equal(body, await hit.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(before, await RedisReadsAsync());
        for (var i = 0; i < 10; i++)
        {
            using var list = await app.Client.GetAsync("/images");
            Assert.Equal("Hit", list.CacheOutcome());
        }

        // One GET of the list's generation per hit, never the list itself.
        Assert.Equal(before + 10, await RedisReadsAsync());
    }

    [Fact]
    public async Task AnUploadThroughAnotherInstanceShowsInTheListAtOnce()
    {
        await using var a = await TestApp.StartAsync(redis);
        await using var b = await TestApp.StartAsync(
            redis, storagePath: a.StoragePath, keepCache: true, services: s => s.AddSingleton<Asgilook.Images.IImageIdGenerator>(new Asgilook.Images.RandomImageIdGenerator()));
        await a.Client.PostImageAsync(TestImages.RandomEllipses());
        for (var i = 0; i < 2; i++)
        {
            using (await a.Client.GetAsync("/images")) { }
        }

        await b.Client.PostImageAsync(TestImages.RandomEllipses());

        using var list = await a.Client.GetAsync("/images");
        Assert.Equal("Miss", list.CacheOutcome());
        Assert.Equal(2, (await list.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetArrayLength());
    }

    [Fact]
    public async Task NothingIsAnsweredFromMemoryWhileRedisIsAwayAndItIsForgottenWhenItIsBack()
    {
        await using var server = new RedisServer();
        await server.InitializeAsync();
        await using var app = await TestApp.StartAsync(new RedisOf(server));
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = $"/thumbnails/{FirstId}/160x90.jpeg";
        using (await app.Client.GetAsync(thumbnail)) { }
        var hot = app.Services.GetRequiredService<MemoryTier>();
        Assert.True(hot.Count > 0);

        await server.StopAsync();
        await Loopback.WaitUntilAsync(async () =>
        {
            using var answer = await app.Client.GetAsync(thumbnail);
            return answer.StatusCode == HttpStatusCode.OK && answer.CacheOutcome() == "Miss";
        }, "the memory tier kept answering while Redis was away");
        Assert.Equal(0, hot.Count);

        await server.StartAsync();
        await Loopback.WaitUntilAsync(async () =>
        {
            using var answer = await app.Client.GetAsync(thumbnail);
            return answer.CacheOutcome() == "Hit";
        }, "caching did not resume once Redis was back");
    }

    [Fact]
    public void WithoutRedisThereIsNoMemoryTier()
    {
        // The in-process store is memory already: a second copy would only double what a hit holds.
        Assert.False(new MemoryTier(0, TimeProvider.System).Enabled);
    }

    [Fact]
    public async Task WithoutRedisTheAppRunsNoMemoryTier()
    {
        await using var app = await TestApp.StartAsync();
        Assert.False(app.Services.GetRequiredService<MemoryTier>().Enabled);
    }

    [Fact]
    public void ItStaysWithinItsBudgetAndKeepsWhatIsUsed()
    {
        var tier = new MemoryTier(1024 * 1024, new ManualClock());
        CacheKey Key(int i) => $"asgilook:/thumbnails/x/{i}.jpeg";
        var response = new CachedResponse("image/jpeg", new byte[20_000]);
        tier.Add(Key(0), response, 0, MemoryTierPolicy.UntilInvalidated, TimeSpan.FromHours(1), tier.Epoch);
        for (var i = 1; i < 200; i++)
        {
            Assert.NotNull(tier.Get(Key(0))); // used all along
            tier.Add(Key(i), response, 0, MemoryTierPolicy.UntilInvalidated, TimeSpan.FromHours(1), tier.Epoch);
            Assert.InRange(tier.Bytes, 0, 1024 * 1024);
        }

        Assert.NotNull(tier.Get(Key(0)));
        Assert.Null(tier.Get(Key(1)));
        Assert.InRange(tier.Count, 30, 52);
    }

    [Fact]
    public void AnAnswerReadBeforeAnInvalidationIsNotKept()
    {
        var clock = new ManualClock();
        var tier = new MemoryTier(1024 * 1024, clock);
        var key = (CacheKey)"asgilook:/images";
        var epoch = tier.Epoch; // read Redis here...
        tier.DropTags(["asgilook:/images"]); // ...an upload invalidates meanwhile...
        tier.Add(key, new CachedResponse("application/json", "[]"u8.ToArray()), 0, MemoryTierPolicy.WhileGenerationHolds, TimeSpan.FromHours(1), epoch);
        Assert.Null(tier.Get(key)); // ...and the answer read before it is not kept.

        tier.Add(key, new CachedResponse("application/json", "[]"u8.ToArray()), 1, MemoryTierPolicy.WhileGenerationHolds, TimeSpan.FromMinutes(1), tier.Epoch);
        Assert.NotNull(tier.Get(key));
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(tier.Get(key)); // never longer than Redis keeps it
    }

    [Fact]
    public void AnEntryTooLargeForItsShareIsNotKept()
    {
        var tier = new MemoryTier(1024 * 1024, TimeProvider.System);
        tier.Add("asgilook:/images", new CachedResponse("application/json", new byte[200_000]), 0, MemoryTierPolicy.WhileGenerationHolds, TimeSpan.FromHours(1), tier.Epoch);
        Assert.Equal(0, tier.Count);
    }

    [Fact]
    public void ADeleteDropsEveryEntryOfItsImageAndNothingElse()
    {
        var tier = new MemoryTier(1024 * 1024, new ManualClock());
        var response = new CachedResponse("image/jpeg", new byte[1000]);
        var (aaaa, bbbb) = (ResponseCache.ImageTag("aaaa"), ResponseCache.ImageTag("bbbb"));
        CacheKey[] mine = [new("asgilook:/thumbnails/aaaa/320x180.jpeg", aaaa), new("asgilook:/thumbnails/aaaa/160x90.webp", aaaa)];
        CacheKey other = new("asgilook:/thumbnails/bbbb/320x180.jpeg", bbbb);
        foreach (var key in mine.Append(other))
        {
            tier.Add(key, response, 0, MemoryTierPolicy.UntilInvalidated, TimeSpan.FromHours(1), tier.Epoch);
        }

        tier.DropTags([aaaa]);
        Assert.All(mine, key => Assert.Null(tier.Get(key)));
        Assert.NotNull(tier.Get(other));

        tier.Drop(other);
        Assert.Equal((0, 0L), (tier.Count, tier.Bytes));
    }

    private sealed class RedisOf(RedisServer server) : ICacheBackend
    {
        public string RedisHost => server.Url;

        public Task ResetAsync() => server.FlushAsync();
    }
}
