using System.Net;
using System.Net.Http.Headers;
using Asgilook.Caching;
using Asgilook.Http;

namespace Asgilook.Tests;

/// <summary>Validators, 304s, Range and HEAD: what lets browsers and CDNs avoid asking twice.</summary>
public abstract class HttpCachingTests(ICacheBackend cache)
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];
    private static readonly string Original = $"/images/{FirstId}.jpeg";
    private static readonly string Thumbnail = $"/thumbnails/{FirstId}/160x90.jpeg";

    [Fact]
    public async Task OriginalCarriesStrongValidatorsAndAnswers304()
    {
        await using var app = await StartWithImageAsync();

        using var full = await app.Client.GetAsync(Original);
        var etag = full.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.Equal(ConditionalRequest.Immutable, full.Headers.CacheControl?.ToString());
        var lastModified = full.Content.Headers.LastModified;
        Assert.NotNull(lastModified);

        using var byTag = await SendAsync(app, Original, request => request.Headers.IfNoneMatch.Add(etag));
        Assert.Equal(HttpStatusCode.NotModified, byTag.StatusCode);
        Assert.Empty(await byTag.Content.ReadAsByteArrayAsync());
        Assert.Equal(etag, byTag.Headers.ETag);

        using var byDate = await SendAsync(app, Original, request => request.Headers.IfModifiedSince = lastModified);
        Assert.Equal(HttpStatusCode.NotModified, byDate.StatusCode);

        using var changed = await SendAsync(app, Original, request => request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"something-else\"")));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
    }

    [Fact]
    public async Task ThumbnailValidatorsAreTheSameOnMissAndHitAndAnswer304FromTheCache()
    {
        await using var app = await StartWithImageAsync();

        using var miss = await app.Client.GetAsync(Thumbnail);
        using var hit = await app.Client.GetAsync(Thumbnail);

        Assert.Equal(("Miss", "Hit"), (miss.CacheOutcome(), hit.CacheOutcome()));
        Assert.NotNull(miss.Headers.ETag);
        Assert.Equal(miss.Headers.ETag, hit.Headers.ETag);
        Assert.Equal(miss.Content.Headers.LastModified, hit.Content.Headers.LastModified);
        Assert.Equal(ConditionalRequest.Immutable, hit.Headers.CacheControl?.ToString());
        Assert.Equal(await miss.Content.ReadAsByteArrayAsync(), await hit.Content.ReadAsByteArrayAsync());

        using var revalidated = await SendAsync(app, Thumbnail, request => request.Headers.IfNoneMatch.Add(miss.Headers.ETag!));
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Equal("Hit", revalidated.CacheOutcome());
        Assert.Empty(await revalidated.Content.ReadAsByteArrayAsync());

        using var since = await SendAsync(app, Thumbnail, request => request.Headers.IfModifiedSince = miss.Content.Headers.LastModified);
        Assert.Equal(HttpStatusCode.NotModified, since.StatusCode);
    }

    [Fact]
    public async Task RevalidatingAnUncachedThumbnailRendersNothing()
    {
        using var temporary = new TemporaryFolder("asgilook-revalidate-");
        var storage = temporary.Path;
        string etag;
        await using (var first = await TestApp.StartAsync(cache, storagePath: storage))
        {
            await first.Client.PostImageAsync(TestImages.RandomEllipses());
            using var response = await first.Client.GetAsync(Thumbnail);
            etag = response.Headers.ETag!.ToString();
        }

        // A restart with an empty cache: the thumbnail is not cached anywhere now.
        await using var app = await TestApp.StartAsync(cache, storagePath: storage);
        using var revalidated = await SendAsync(app, Thumbnail, request => request.Headers.TryAddWithoutValidation("If-None-Match", etag));

        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Equal("Miss", revalidated.CacheOutcome());
        Assert.DoesNotContain("resize", string.Join(',', revalidated.Headers.GetValues("Server-Timing")));
        Assert.Equal(etag, revalidated.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task OriginalHonoursRange()
    {
        await using var app = await StartWithImageAsync();
        var whole = await app.Client.GetByteArrayAsync(Original);

        using var part = await SendAsync(app, Original, request => request.Headers.Range = new RangeHeaderValue(100, 199));
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(100, part.Content.Headers.ContentLength);
        Assert.Equal($"bytes 100-199/{whole.Length}", part.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole[100..200], await part.Content.ReadAsByteArrayAsync());

        using var stale = await SendAsync(app, Original, request =>
        {
            request.Headers.Range = new RangeHeaderValue(0, 9);
            request.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"old\""));
        });
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal(whole.Length, (await stale.Content.ReadAsByteArrayAsync()).Length);

        using var beyond = await SendAsync(app, Original, request => request.Headers.Range = new RangeHeaderValue(whole.Length + 10, null));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
    }

    [Theory]
    [InlineData("/images")]
    [InlineData("/images/36562622-48e5-4a61-be67-e426b11821ed.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/160x90.jpeg")]
    [InlineData("/health")]
    [InlineData("/health/ready")]
    public async Task HeadAnswersWhatGetWouldWithoutTheBody(string uri)
    {
        await using var app = await StartWithImageAsync();
        using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri));
        using var get = await app.Client.GetAsync(uri);
        using var headAgain = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri));

        var body = await get.Content.ReadAsByteArrayAsync();
        foreach (var response in new[] { head, headAgain })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(get.Content.Headers.ContentType, response.Content.Headers.ContentType);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            if (response.Content.Headers.ContentLength is { } length)
            {
                Assert.Equal(body.Length, length);
            }
        }

        Assert.Equal(body.Length, get.Content.Headers.ContentLength ?? body.Length);
    }

    [Fact]
    public async Task ListMustBeRevalidated()
    {
        await using var app = await StartWithImageAsync();

        using var list = await app.Client.GetAsync("/images");

        Assert.True(list.Headers.CacheControl?.NoCache);
    }

    [Fact]
    public async Task ValidatorsAreStableAcrossRestarts()
    {
        using var temporary = new TemporaryFolder("asgilook-etag-");
        var storage = temporary.Path;
        (EntityTagHeaderValue?, EntityTagHeaderValue?, DateTimeOffset?) first;
        await using (var app = await TestApp.StartAsync(cache, storagePath: storage))
        {
            await app.Client.PostImageAsync(TestImages.RandomEllipses());
            first = await ValidatorsAsync(app);
        }

        await using var restarted = await TestApp.StartAsync(cache, storagePath: storage);
        Assert.Equal(first, await ValidatorsAsync(restarted));
    }

    private static async Task<(EntityTagHeaderValue?, EntityTagHeaderValue?, DateTimeOffset?)> ValidatorsAsync(TestApp app)
    {
        using var original = await app.Client.GetAsync(Original);
        using var thumbnail = await app.Client.GetAsync(Thumbnail);
        return (original.Headers.ETag, thumbnail.Headers.ETag, thumbnail.Content.Headers.LastModified);
    }

    private async Task<TestApp> StartWithImageAsync()
    {
        var app = await TestApp.StartAsync(cache);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        return app;
    }

    private static Task<HttpResponseMessage> SendAsync(TestApp app, string uri, Action<HttpRequestMessage> conditions)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        conditions(request);
        return app.Client.SendAsync(request);
    }
}

public sealed class HttpCachingWithMemoryCache() : HttpCachingTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class HttpCachingWithRedis(RedisCacheBackend redis) : HttpCachingTests(redis), IClassFixture<RedisCacheBackend>;
