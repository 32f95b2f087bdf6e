using System.Diagnostics;
using System.Net;
using Asgilook.Caching;
using Asgilook.Redis;

namespace Asgilook.Tests;

/// <summary>The response cache is an accelerator, never a single point of failure.</summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class CacheOutageTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task WhileRedisIsAwayEverythingWorksUncachedAndCachingResumesWhenItIsBack()
    {
        await using var app = await TestApp.StartAsync(redis);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        Assert.Equal(["Miss", "Hit"], await OutcomesAsync(app, "/images", 2));

        await redis.Server.StopAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(["Miss", "Miss", "Miss"], await OutcomesAsync(app, "/images", 3));
            Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));

            var second = await app.Client.PostImageAsync(TestImages.RandomEllipses());
            using (var thumbnail = await app.Client.GetAsync(second.GetProperty("thumbnails")[0].GetString()))
            {
                Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
            }

            using (var deleted = await app.Client.DeleteImageAsync(second))
            {
                Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            }

            Assert.Single(app.Logs.Warnings(nameof(ResponseCache)));
        }
        finally
        {
            await redis.Server.StartAsync();
        }

        // Redis may come back between two requests of one poll, so the first answer from the cache is waited for.
        await Loopback.WaitUntilAsync(
            async () => (await OutcomesAsync(app, "/images", 1))[0] == "Hit",
            "caching did not resume after Redis came back", timeoutSeconds: 30);
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains("caching resumed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvalidationsMissedWhileRedisHungAreMadeGoodBeforeItIsReadAgain()
    {
        await using var app = await TestApp.StartAsync(redis);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
        Assert.Equal(["Miss", "Hit"], await OutcomesAsync(app, thumbnail, 2));
        Assert.Equal(["Miss", "Hit"], await OutcomesAsync(app, "/images", 2));

        await redis.Server.PauseAsync();
        try
        {
            using var deleted = await app.Client.DeleteImageAsync(posted);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        finally
        {
            await redis.Server.ResumeAsync();
        }

        Assert.True(await redis.Server.Database.KeyExistsAsync($"asgilook:{thumbnail}"), "the stale entry should have outlived the hang");
        using var stale = await app.Client.GetAsync(thumbnail);
        await stale.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        // The entry may stay until it expires, but it is dead: its image's tag moved on, and it is never served again.
        Assert.True((long)await redis.Server.Database.StringGetAsync(RedisKeys.GenerationOf(ResponseCache.ImageTag(posted.GetProperty("id").GetString()!))) > 0);
    }

    private static async Task<string[]> OutcomesAsync(TestApp app, string uri, int times)
    {
        var outcomes = new string[times];
        for (var i = 0; i < times; i++)
        {
            using var response = await app.Client.GetAsync(uri);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            outcomes[i] = response.CacheOutcome() ?? "none";
        }

        return outcomes;
    }
}
