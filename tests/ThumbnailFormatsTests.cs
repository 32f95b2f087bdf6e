using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Configuration;

namespace Asgilook.Tests;

/// <summary>
/// WebP and AVIF thumbnails beside the tutorial's JPEGs: the same sizes, guard, validators, HEAD and cache
/// (the format part of the key), listed in the image's <c>sources</c>; a format the engine does not render,
/// or any other spelling, is a 404.
/// </summary>
public abstract class ThumbnailFormatsTests(ICacheBackend? cache)
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    [Theory]
    [InlineData("webp", "image/webp", "webpload_buffer")]
    [InlineData("avif", "image/avif", "heifload_buffer")]
    [InlineData("jpeg", "image/jpeg", "jpegload_buffer")]
    public async Task EveryListedSizeIsServedInEveryFormatExactlyAndCached(string extension, string mediaType, string loader)
    {
        await using var app = await TestApp.StartAsync(cache);
        var image = await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        var sources = image.GetProperty("sources").GetProperty(mediaType).EnumerateArray().ToArray();
        var thumbnails = image.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!).ToArray();

        Assert.Equal(thumbnails.Length, sources.Length);
        for (var i = 0; i < sources.Length; i++)
        {
            var (uri, width, height) = (sources[i].GetProperty("uri").GetString()!, sources[i].GetProperty("width").GetInt32(), sources[i].GetProperty("height").GetInt32());
            Assert.Equal(Path.ChangeExtension(thumbnails[i], extension), uri);
            using var miss = await app.Client.GetAsync(uri);
            Assert.Equal((HttpStatusCode.OK, mediaType, "Miss"), (miss.StatusCode, miss.ContentType(), miss.CacheOutcome()));
            var bytes = await miss.Content.ReadAsByteArrayAsync();
            Assert.Equal(loader, TestImages.FormatOf(bytes));
            Assert.Equal((width, height), TestImages.SizeOf(bytes));
            Assert.Contains("immutable", miss.Headers.CacheControl!.ToString());
            Assert.False(miss.Headers.Vary.Any(), "one URL, one representation: nothing varies");
            var etag = miss.Headers.ETag!;
            Assert.Equal(extension != "jpeg", etag.Tag.Contains(extension, StringComparison.Ordinal));

            using var hit = await app.Client.GetAsync(uri);
            Assert.Equal(("Hit", mediaType), (hit.CacheOutcome(), hit.ContentType()));
            Assert.Equal(bytes, await hit.Content.ReadAsByteArrayAsync());
            using var revalidate = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { IfNoneMatch = { etag } } };
            using var notModified = await app.Client.SendAsync(revalidate);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri));
            Assert.Equal((HttpStatusCode.OK, mediaType, (long?)bytes.Length), (head.StatusCode, head.ContentType(), head.Content.Headers.ContentLength));
        }
    }

    [Fact]
    public async Task TheFormatsOfOneSizeAreDifferentEntriesWithDifferentTags()
    {
        await using var app = await TestApp.StartAsync(cache);
        await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        var tags = new HashSet<string>();

        foreach (var extension in new[] { "jpeg", "webp", "avif" })
        {
            using var response = await app.Client.GetAsync($"/thumbnails/{FirstId}/320x180.{extension}");
            Assert.Equal("Miss", response.CacheOutcome()); // the JPEG's entry does not answer for the WebP
            Assert.True(tags.Add(response.Headers.ETag!.Tag));
        }
    }

    [Theory]
    [InlineData("/thumbnails/{0}/320x180.png")]
    [InlineData("/thumbnails/{0}/320x180.WEBP")]
    [InlineData("/thumbnails/{0}/320x180.webp.jpeg")]
    [InlineData("/thumbnails/{0}/320x180.avif%20")]
    [InlineData("/thumbnails/{0}/320x180.")]
    [InlineData("/thumbnails/{0}/480x270.webp")]
    [InlineData("/thumbnails/{0}/320x180.%2e%2e%2fwebp")]
    public async Task AnyOtherFormatOrSpellingIsANotFoundProblem(string template)
    {
        await using var app = await TestApp.StartAsync(cache);
        await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));

        using var response = await app.Client.GetAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, FirstId));

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ADeleteDropsEveryFormatFromTheCache()
    {
        await using var app = await TestApp.StartAsync(cache);
        var image = await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        var uris = new[] { "webp", "avif" }.Select(extension => $"/thumbnails/{FirstId}/320x180.{extension}").ToArray();
        foreach (var uri in uris)
        {
            (await app.Client.GetAsync(uri)).Dispose();
        }

        using var delete = new HttpRequestMessage(HttpMethod.Delete, image.GetProperty("image").GetString())
        {
            Headers = { Authorization = new("Bearer", image.GetProperty("delete_token").GetString()) },
        };
        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.SendAsync(delete)).StatusCode);

        foreach (var uri in uris)
        {
            using var gone = await app.Client.GetAsync(uri);
            await gone.AssertProblemAsync(HttpStatusCode.NotFound);
        }
    }
}

public sealed class ThumbnailFormatsWithMemoryCache() : ThumbnailFormatsTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class ThumbnailFormatsWithRedis(RedisCacheBackend redis) : ThumbnailFormatsTests(redis), IClassFixture<RedisCacheBackend>;

/// <summary>ImageSharp 2.1 has no AVIF encoder: under that engine the JSON offers WebP and JPEG, and AVIF is a 404.</summary>
public sealed class ImageSharpThumbnailFormatsTests
{
    [Fact]
    public async Task WebpIsServedAndAvifIsNeitherListedNorRendered()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ImageEngine"] = nameof(ImageEngine.ImageSharp) });
        var image = await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));

        Assert.Equal(["image/webp", "image/jpeg"], image.GetProperty("sources").EnumerateObject().Select(p => p.Name));
        var listed = (await app.Client.GetFromJsonAsync<JsonElement>("/images"))[0];
        Assert.Equal(image.GetProperty("sources").ToString(), listed.GetProperty("sources").ToString());
        using var webp = await app.Client.GetAsync($"/thumbnails/{TestApp.PredictableIds[0]}/320x180.webp");
        Assert.Equal((HttpStatusCode.OK, "webpload_buffer"), (webp.StatusCode, TestImages.FormatOf(await webp.Content.ReadAsByteArrayAsync())));
        using var avif = await app.Client.GetAsync($"/thumbnails/{TestApp.PredictableIds[0]}/320x180.avif");
        var problem = await avif.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("renders no 'avif' thumbnails", problem.GetProperty("detail").GetString());
    }
}
