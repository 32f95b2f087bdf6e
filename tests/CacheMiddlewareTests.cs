using System.Net;
using Asgilook.Caching;
using Asgilook.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Asgilook.Tests;

/// <summary>The middleware's policy, seen through the HTTP API with the in-process store.</summary>
public sealed class CacheMiddlewareTests
{
    [Fact]
    public async Task FailedUploadDoesNotInvalidate()
    {
        await using var app = await TestApp.StartAsync();
        using (await app.Client.GetAsync("/images")) { }

        using (var rejected = await app.Client.PostAsync("/images", new StringContent("garbage")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
            Assert.Null(rejected.CacheOutcome());
        }

        using var list = await app.Client.GetAsync("/images");
        Assert.Equal("Hit", list.CacheOutcome());
    }

    [Fact]
    public async Task QueryStringsBypassTheCache()
    {
        await using var app = await TestApp.StartAsync();
        using (await app.Client.GetAsync("/images")) { }

        using var response = await app.Client.GetAsync("/images?fresh=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.CacheOutcome());
    }

    [Theory]
    [InlineData("/images", "asgilook:/images")]
    [InlineData("/images/", "asgilook:/images")]
    [InlineData("/Images", "asgilook:/images")]
    [InlineData("/", "asgilook:/")]
    [InlineData("", "asgilook:/")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/160x90.jpeg", "asgilook:/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/160x90.jpeg")]
    public void KeyIsPrefixAndPath(string path, string key) =>
        Assert.Equal(key, ResponseCache.KeyFor(new PathString(path)));

    [Fact]
    public void CapturingStreamPassesEverythingThroughAndKeepsACopyUpToItsLimit()
    {
        using var client = new MemoryStream();
        using var capture = new CapturingStream(client, limit: 8);

        capture.Write([1, 2, 3], 0, 3);
        capture.Write([4, 5]);
        capture.Flush();
        Assert.True(capture.Complete);
        Assert.Equal([1, 2, 3, 4, 5], capture.Captured);
        Assert.Equal(5, capture.BytesWritten);

        capture.Write([6, 7, 8, 9]);
        Assert.False(capture.Complete);
        Assert.Empty(capture.Captured);
        Assert.Equal(9, capture.BytesWritten);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], client.ToArray());
    }

    [Fact]
    public async Task BodiesOverTheLimitAreServedWholeButNotCached()
    {
        var large = new byte[ResponseCacheMiddleware.MaxCachedBodyBytes + 1];
        Random.Shared.NextBytes(large);
        var small = new byte[ResponseCacheMiddleware.MaxCachedBodyBytes];
        await using var app = await TestApp.StartAsync(endpoints: app =>
        {
            app.MapGet("/large", () => TypedResults.Bytes(large, "application/octet-stream"));
            app.MapGet("/small", () => TypedResults.Bytes(small, "application/octet-stream"));
        });

        foreach (var expected in new[] { "Miss", "Miss" })
        {
            using var response = await app.Client.GetAsync("/large");
            Assert.Equal(expected, response.CacheOutcome());
            Assert.Equal(large, await response.Content.ReadAsByteArrayAsync());
        }

        foreach (var expected in new[] { "Miss", "Hit" })
        {
            using var response = await app.Client.GetAsync("/small");
            Assert.Equal(expected, response.CacheOutcome());
            Assert.Equal(small.Length, (await response.Content.ReadAsByteArrayAsync()).Length);
        }
    }
}
