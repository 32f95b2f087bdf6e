using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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
    /// <summary>The test routes' answers are cached by path alone, every query parameter ignored.</summary>
    private static readonly ResponseCachePolicy ByPath = new(new CacheVaryByQuery());

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
    public async Task UnknownQueryParametersCannotBustTheCache()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        using (await app.Client.GetAsync("/images")) { }

        foreach (var uri in new[] { $"/images?x={Guid.NewGuid()}", $"/images?x={Guid.NewGuid()}&y=1", "/images?" })
        {
            using var response = await app.Client.GetAsync(uri);
            Assert.Equal((HttpStatusCode.OK, "Hit"), (response.StatusCode, response.CacheOutcome()));
        }

        var thumbnail = $"/thumbnails/{TestApp.PredictableIds[0]}/320x180.jpeg";
        using (await app.Client.GetAsync(thumbnail)) { }
        using var busted = await app.Client.GetAsync($"{thumbnail}?v={Guid.NewGuid()}");
        Assert.Equal((HttpStatusCode.OK, "Hit"), (busted.StatusCode, busted.CacheOutcome()));
    }

    [Fact]
    public async Task PagesAreCachedByTheirCanonicalParametersWithTheirLinksAndAnUploadMakesThemAllStale()
    {
        await using var app = await TestApp.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            await app.Client.PostImageAsync(TestImages.RandomEllipses(200, 100));
        }

        using var first = await app.Client.GetAsync("/images?limit=2");
        using var same = await app.Client.GetAsync("/images?limit=002&junk=1");
        Assert.Equal(("Miss", "Hit"), (first.CacheOutcome(), same.CacheOutcome()));
        Assert.Equal(first.Headers.GetValues("Link").Single(), same.Headers.GetValues("Link").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await same.Content.ReadAsStringAsync());
        var next = $"/images?after={TestApp.PredictableIds[1].ToString().ToUpperInvariant()}&limit=2";
        using (await app.Client.GetAsync(next)) { }
        using (var cachedNext = await app.Client.GetAsync(next.ToLowerInvariant()))
        {
            Assert.Equal("Hit", cachedNext.CacheOutcome());
        }

        using var bad = await app.Client.GetAsync("/images?limit=+2");
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Null(bad.CacheOutcome());

        await app.Client.PostImageAsync(TestImages.RandomEllipses(200, 100));
        using var stale = await app.Client.GetAsync("/images?limit=2");
        using var staleNext = await app.Client.GetAsync(next);
        Assert.Equal(("Miss", "Miss"), (stale.CacheOutcome(), staleNext.CacheOutcome()));
        Assert.Equal(2, (await staleNext.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength()); // the new upload shows
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
    public async Task AResponseBufferHoldsTheBodyUntilItOutgrowsItsLimitThenPassesEverythingThrough()
    {
        using var client = new MemoryStream();
        var response = new DefaultHttpContext().Response;
        using var buffer = new ResponseBuffer(client, response, limit: 8);

        buffer.Write([1, 2, 3], 0, 3);
        await buffer.WriteAsync(new byte[] { 4, 5 });
        await buffer.FlushAsync();
        Assert.False(buffer.PassedThrough);
        Assert.Empty(client.ToArray()); // nothing reaches the client before the endpoint is done
        Assert.Equal([1, 2, 3, 4, 5], buffer.ToArray());
        Assert.Equal(5, buffer.BytesWritten);

        await buffer.WriteAsync(new byte[] { 6, 7, 8, 9 });
        Assert.True(buffer.PassedThrough);
        Assert.Equal(0, buffer.Held.Length);
        Assert.Equal(9, buffer.BytesWritten);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], client.ToArray());
    }

    [Fact]
    public void AResponseBufferWrittenSynchronouslyPassesThroughPastItsLimitToo()
    {
        using var client = new MemoryStream();
        using var buffer = new ResponseBuffer(client, new DefaultHttpContext().Response, limit: 4);
        buffer.Write([1, 2, 3], 0, 3);
        buffer.Flush();
        Assert.Empty(client.ToArray());

        buffer.Write([4, 5, 6], 0, 3);
        buffer.Flush();
        Assert.True(buffer.PassedThrough);
        Assert.Equal([1, 2, 3, 4, 5, 6], client.ToArray());
        Assert.Equal(6, buffer.BytesWritten);
        Assert.False(buffer.CanRead || buffer.CanSeek);
        Assert.True(buffer.CanWrite);
        Assert.Throws<NotSupportedException>(() => buffer.Read(new byte[1], 0, 1));
        Assert.Throws<NotSupportedException>(() => buffer.Length);
    }

    [Fact]
    public async Task TheBodyOfAHeadIsCountedAndDiscarded()
    {
        using var sink = new DiscardingStream();
        sink.Write([1, 2], 0, 2);
        sink.Write([3]);
        await sink.WriteAsync(new byte[4], 0, 4);
        await sink.WriteAsync(new byte[5].AsMemory());
        sink.Flush();
        await sink.FlushAsync();
        Assert.Equal(12, sink.BytesWritten);
        Assert.False(sink.CanRead || sink.CanSeek);
        Assert.Throws<NotSupportedException>(() => sink.Seek(0, SeekOrigin.Begin));
    }

    [Fact]
    public void AResponseBufferHoldsADeclaredLengthInOneArrayOfThatLength()
    {
        var response = new DefaultHttpContext().Response;
        response.ContentLength = 5;
        using var buffer = new ResponseBuffer(Stream.Null, response, limit: 8);
        byte[] body = [1, 2, 3, 4, 5];
        buffer.Write(body.AsSpan(0, 2));
        buffer.Write(body.AsSpan(2));
        Assert.Same(buffer.ToArray(), buffer.ToArray());
        Assert.Equal(body, buffer.ToArray());
    }

    [Fact]
    public async Task BodiesOverTheLimitAreServedWholeButNotCached()
    {
        // JSON strings exactly as long as the limit, and one byte longer: whole answers, judged by size alone.
        static byte[] JsonString(int length) => [(byte)'"', .. Enumerable.Repeat((byte)'a', length - 2), (byte)'"'];
        var large = JsonString(ResponseCacheMiddleware.MaxCachedBodyBytes + 1);
        var small = JsonString(ResponseCacheMiddleware.MaxCachedBodyBytes);
        await using var app = await TestApp.StartAsync(endpoints: app =>
        {
            app.MapGet("/large", () => TypedResults.Bytes(large, "application/json")).CacheResponses(ByPath);
            app.MapGet("/small", () => TypedResults.Bytes(small, "application/json")).CacheResponses(ByPath);
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
