using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>The tutorial's test_images.py, and what the Images resource promises beyond it.</summary>
public abstract class ImagesTests(ICacheBackend cache)
{
    private static readonly string FirstId = TestApp.PredictableIds[0].ToString();

    [Fact]
    public async Task ListImages()
    {
        await using var app = await TestApp.StartAsync(cache);

        using var first = await app.Client.GetAsync("/images");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("Miss", first.CacheOutcome());
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.Equal("[]", firstBody);

        using var second = await app.Client.GetAsync("/images");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("Hit", second.CacheOutcome());
        Assert.Equal("application/json", second.ContentType());
        Assert.Equal(firstBody, await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MissingInStore()
    {
        await using var app = await TestApp.StartAsync(cache);

        using var response = await app.Client.GetAsync("/images/1a256a8a-2063-46ff-b53f-d04d5bcf5eee.jpeg");

        var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("1a256a8a-2063-46ff-b53f-d04d5bcf5eee", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task PostOneImage()
    {
        await using var app = await TestApp.StartAsync(cache);

        using var posted = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var location = posted.Headers.Location?.OriginalString;
        Assert.Equal($"/images/{FirstId}.jpeg", location);

        var body = await posted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(FirstId, body.GetProperty("id").GetString());
        Assert.Equal(location, body.GetProperty("image").GetString());
        Assert.Equal([640, 360], body.GetProperty("size").EnumerateArray().Select(side => side.GetInt32()));
        var modified = DateTimeOffset.ParseExact(body.GetProperty("modified").GetString()!, "R", CultureInfo.InvariantCulture);
        Assert.InRange(modified, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

        using var fetched = await app.Client.GetAsync(location);
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("image/jpeg", fetched.ContentType());
        var jpeg = await fetched.Content.ReadAsByteArrayAsync();
        Assert.Equal("jpegload_buffer", TestImages.FormatOf(jpeg));
        Assert.Equal((640, 360), TestImages.SizeOf(jpeg));
    }

    [Fact]
    public async Task PostThreeImages()
    {
        await using var app = await TestApp.StartAsync(cache);
        var png = TestImages.RandomEllipses();
        for (var i = 0; i < 3; i++)
        {
            await app.Client.PostImageAsync(png);
        }

        var listed = await app.Client.GetFromJsonAsync<JsonElement>("/images");

        var images = listed.EnumerateArray()
            .Select(item => (item.GetProperty("image").GetString(), item.GetProperty("size")[0].GetInt32(), item.GetProperty("size")[1].GetInt32()));
        Assert.Equal(
            [
                ("/images/36562622-48e5-4a61-be67-e426b11821ed.jpeg", 640, 360),
                ("/images/3bc731ac-8cd8-4f39-b6fe-1a195d3b4e74.jpeg", 640, 360),
                ("/images/ba1c4951-73bc-45a4-a1f6-aa2b958dafa4.jpeg", 640, 360),
            ],
            images);
    }

    [Fact]
    public async Task UploadInvalidatesCachedList()
    {
        await using var app = await TestApp.StartAsync(cache);
        using (await app.Client.GetAsync("/images")) { }
        using (var cached = await app.Client.GetAsync("/images"))
        {
            Assert.Equal("Hit", cached.CacheOutcome());
        }

        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        using var after = await app.Client.GetAsync("/images");
        Assert.Equal("Miss", after.CacheOutcome());
        var listed = await after.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(FirstId, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("/images/")]
    [InlineData("/IMAGES")]
    public async Task ListSpelledDifferentlyIsInvalidatedToo(string spelling)
    {
        await using var app = await TestApp.StartAsync(cache);
        using (var cold = await app.Client.GetAsync(spelling))
        {
            Assert.Equal(HttpStatusCode.OK, cold.StatusCode);
        }

        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        var listed = await app.Client.GetFromJsonAsync<JsonElement>(spelling);
        Assert.Equal(1, listed.GetArrayLength());
    }

    [Fact]
    public async Task OriginalIsServedWholeEveryTime()
    {
        await using var app = await TestApp.StartAsync(cache);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var uri = posted.GetProperty("image").GetString();
        var onDisk = await File.ReadAllBytesAsync(Path.Combine(app.StoragePath, $"{FirstId}.jpeg"));

        for (var i = 0; i < 3; i++)
        {
            using var response = await app.Client.GetAsync(uri);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Null(response.CacheOutcome());
            Assert.Equal(onDisk.Length, response.Content.Headers.ContentLength);
            Assert.Equal(onDisk, await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task HeadOfListIsCachedLikeGet()
    {
        await using var app = await TestApp.StartAsync(cache);
        using var get = await app.Client.GetAsync("/images");
        var length = (await get.Content.ReadAsByteArrayAsync()).Length;

        using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/images"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("Hit", head.CacheOutcome());
        Assert.Equal(length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/plain")]
    [InlineData("image/png")]
    [InlineData(null)]
    public async Task UploadIsTakenWhateverItsContentType(string? contentType)
    {
        await using var app = await TestApp.StartAsync(cache);
        var body = new ByteArrayContent(TestImages.RandomEllipses());
        body.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        using var response = await app.Client.PostAsync("/images", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task EmptyUploadIsRejected()
    {
        await using var app = await TestApp.StartAsync(cache);

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent([]));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
    }

    [Fact]
    public async Task BytesThatAreNoImageAreRejected()
    {
        await using var app = await TestApp.StartAsync(cache);

        using var response = await app.Client.PostAsync("/images", new StringContent("this is not an image"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not an image", problem.GetProperty("detail").GetString());
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        Assert.Empty(app.StoredFiles());
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
    }
}

public sealed class ImagesWithMemoryCache() : ImagesTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class ImagesWithRedis(RedisCacheBackend redis) : ImagesTests(redis), IClassFixture<RedisCacheBackend>;
