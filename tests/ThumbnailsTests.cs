using System.Net;

namespace Asgilook.Tests;

/// <summary>The tutorial's test_thumbnails.py, and the exactness of the thumbnail guard.</summary>
public abstract class ThumbnailsTests(ICacheBackend cache)
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    [Fact]
    public async Task MissingInStore()
    {
        await using var app = await TestApp.StartAsync(cache);

        using var response = await app.Client.GetAsync("/thumbnails/1a256a8a-2063-46ff-b53f-d04d5bcf5eee/80x80.jpeg");

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Thumbnails()
    {
        await using var app = await TestApp.StartAsync(cache);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());

        var thumbnails = posted.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!).ToArray();
        Assert.Equal([$"/thumbnails/{FirstId}/320x180.jpeg", $"/thumbnails/{FirstId}/160x90.jpeg"], thumbnails);

        foreach (var (uri, size) in thumbnails.Zip([(320, 180), (160, 90)]))
        {
            using var response = await app.Client.GetAsync(uri);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/jpeg", response.ContentType());
            Assert.Equal("Miss", response.CacheOutcome());
            var jpeg = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(jpeg.Length, response.Content.Headers.ContentLength);
            Assert.Equal(size, TestImages.SizeOf(jpeg));
        }
    }

    [Fact]
    public async Task MissingSize()
    {
        await using var app = await TestApp.StartAsync(cache);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        using var response = await app.Client.GetAsync($"/thumbnails/{FirstId}/480x270.jpeg");

        var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("480x270", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/thumbnails/36562622-48E5-4A61-BE67-E426B11821ED/160x90.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/0160x90.jpeg")]
    [InlineData("/thumbnails/3656262248e54a61be67e426b11821ed/160x90.jpeg")]
    public async Task OnlyTheListedSpellingIsServed(string uri)
    {
        await using var app = await TestApp.StartAsync(cache);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        using var response = await app.Client.GetAsync(uri);

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    // snippet: caching-test
    [Fact]
    public async Task ThumbnailCaching()
    {
        await using var app = await TestApp.StartAsync(cache);
        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        byte[]? first = null;
        for (var retry = 0; retry < 4; retry++)
        {
            using var response = await app.Client.GetAsync($"/thumbnails/{FirstId}/160x90.jpeg");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(retry == 0 ? "Miss" : "Hit", response.CacheOutcome());
            Assert.Equal("image/jpeg", response.ContentType());
            var jpeg = await response.Content.ReadAsByteArrayAsync();
            first ??= jpeg;
            Assert.Equal(first, jpeg);
        }
    }
    // end snippet

    [Fact]
    public async Task NotFoundIsNeverCached()
    {
        await using var app = await TestApp.StartAsync(cache);
        var uri = $"/thumbnails/{FirstId}/320x180.jpeg";
        using (var before = await app.Client.GetAsync(uri))
        {
            Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        }

        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        using var after = await app.Client.GetAsync(uri);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("Miss", after.CacheOutcome());
    }
}

public sealed class ThumbnailsWithMemoryCache() : ThumbnailsTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class ThumbnailsWithRedis(RedisCacheBackend redis) : ThumbnailsTests(redis), IClassFixture<RedisCacheBackend>;
