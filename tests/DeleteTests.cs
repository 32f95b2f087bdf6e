using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>DELETE removes the image and every cached answer about it, with either cache store.</summary>
public abstract class DeleteTests(ICacheBackend cache)
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    [Fact]
    public async Task DeleteRemovesTheImageAndEverythingCachedAboutIt()
    {
        await using var app = await TestApp.StartAsync(cache);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnails = posted.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!).ToArray();
        foreach (var uri in thumbnails.Append("/images").Append("/images"))
        {
            using (await app.Client.GetAsync(uri)) { }
        }

        using (var cached = await app.Client.GetAsync(thumbnails[0]))
        {
            Assert.Equal("Hit", cached.CacheOutcome());
        }

        using var deleted = await app.Client.DeleteImageAsync(posted);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(app.StoredFiles());
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        foreach (var uri in thumbnails.Append($"/images/{FirstId}.jpeg"))
        {
            using var gone = await app.Client.GetAsync(uri);
            await gone.AssertProblemAsync(HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task DeletingAnUnknownImageIsNotFound()
    {
        await using var app = await TestApp.StartAsync(cache);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var token = posted.GetProperty("delete_token").GetString();

        using var first = await app.Client.DeleteAsync($"/images/{TestApp.PredictableIds[1]}.jpeg", token);
        await first.AssertProblemAsync(HttpStatusCode.NotFound);

        using (var deleted = await app.Client.DeleteAsync($"/images/{FirstId}.jpeg", token))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var again = await app.Client.DeleteAsync($"/images/{FirstId}.jpeg", token);
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeleteLeavesTheOtherImagesAlone()
    {
        await using var app = await TestApp.StartAsync(cache);
        var posted = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            posted.Add(await app.Client.PostImageAsync(TestImages.RandomEllipses()));
        }

        using (var deleted = await app.Client.DeleteImageAsync(posted[1]))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        var listed = await app.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Equal(
            [TestApp.PredictableIds[0].ToString(), TestApp.PredictableIds[2].ToString()],
            listed.EnumerateArray().Select(image => image.GetProperty("id").GetString()));
        Assert.Equal(2, app.StoredFiles().Length);
    }
}

public sealed class DeleteWithMemoryCache() : DeleteTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class DeleteWithRedis(RedisCacheBackend redis) : DeleteTests(redis), IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task DeleteThroughOneInstanceInvalidatesEveryInstanceOnTheSameRedis()
    {
        await using var a = await TestApp.StartAsync(redis);
        await using var b = await TestApp.StartAsync(redis, storagePath: a.StoragePath, keepCache: true);
        var thumbnail = $"/thumbnails/{TestApp.PredictableIds[0]}/160x90.jpeg";
        var posted = await a.Client.PostImageAsync(TestImages.RandomEllipses());
        using (await a.Client.GetAsync(thumbnail)) { }
        using (await a.Client.GetAsync("/images")) { }
        using (var cached = await a.Client.GetAsync(thumbnail))
        {
            Assert.Equal("Hit", cached.CacheOutcome());
        }

        using (var deleted = await b.Client.DeleteImageAsync(posted))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        // The list is checked against its generation in Redis on every hit: gone at once.
        Assert.Equal("[]", await a.Client.GetStringAsync("/images"));
        // A thumbnail is immutable and served from a's memory until the announcement of the delete reaches a.
        await Loopback.WaitUntilAsync(async () =>
        {
            using var answer = await a.Client.GetAsync(thumbnail);
            return answer.StatusCode == HttpStatusCode.NotFound;
        }, "the delete's announcement did not reach the other instance");
        using var gone = await a.Client.GetAsync(thumbnail);
        await gone.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ADeleteWhoseAnnouncementIsLostIsForgottenByTheOtherInstancesMemoryWithinSeconds()
    {
        await using var a = await TestApp.StartAsync(redis);
        // b's announcements reach no one: a partition, a publish that timed out.
        await using var b = await TestApp.StartAsync(
            redis, storagePath: a.StoragePath, keepCache: true, services: s => s.AddSingleton<Asgilook.Events.IEventBroadcast>(new Asgilook.Events.NoBroadcast()));
        var posted = await a.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnails = posted.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!).ToArray();
        foreach (var uri in thumbnails)
        {
            using (await a.Client.GetAsync(uri)) { }
            using var hot = await a.Client.GetAsync(uri);
            Assert.Equal("Hit", hot.CacheOutcome()); // from a's memory, with no round trip to Redis
        }

        using (var deleted = await b.Client.DeleteImageAsync(posted))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        // a reads the deletes log in Redis every second: gone within seconds, where a lost announcement used to leave them for an hour.
        foreach (var uri in thumbnails)
        {
            await Loopback.WaitUntilAsync(async () =>
            {
                using var answer = await a.Client.GetAsync(uri);
                return answer.StatusCode == HttpStatusCode.NotFound;
            }, $"{uri} was still served from memory after its delete", timeoutSeconds: 10);
        }
    }
}
