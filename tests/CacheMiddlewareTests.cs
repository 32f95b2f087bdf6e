using System.Net;
using Asgilook.Caching;
using Microsoft.AspNetCore.Http;

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
        Assert.True(capture.CanWrite);
        Assert.False(capture.CanRead);
        Assert.False(capture.CanSeek);
        Assert.Throws<NotSupportedException>(() => capture.Length);
        Assert.Throws<NotSupportedException>(() => capture.Position = 1);
        Assert.Throws<NotSupportedException>(() => capture.Position);
        Assert.Throws<NotSupportedException>(() => capture.Read(new byte[1], 0, 1));
        Assert.Throws<NotSupportedException>(() => capture.Seek(0, SeekOrigin.Begin));
        Assert.Throws<NotSupportedException>(() => capture.SetLength(0));
    }

    [Fact]
    public async Task LargeBodiesAreServedButNotCached()
    {
        using var client = new MemoryStream();
        await using var capture = new CapturingStream(client, limit: ResponseCacheMiddleware.MaxCachedBodyBytes);
        var big = new byte[ResponseCacheMiddleware.MaxCachedBodyBytes + 1];

        await capture.WriteAsync(big, 0, big.Length);
        await capture.FlushAsync();

        Assert.False(capture.Complete);
        Assert.Equal(big.Length, client.Length);
    }
}
