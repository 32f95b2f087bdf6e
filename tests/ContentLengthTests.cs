using System.Net;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>
/// The JSON answers built whole in memory (an upload's, the list's) declare their length instead of being chunked,
/// on a miss and on a hit, for GET and HEAD, over real sockets (TestHost would not show the framing).
/// </summary>
public abstract class ContentLengthTests(ICacheBackend cache)
{
    [Fact]
    public async Task AnUploadsAnswerDeclaresItsLength()
    {
        await using var app = await TestApp.StartAsync(cache, listen: true);

        using var posted = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));

        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        AssertDeclaresItsLength(posted, await posted.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task TheListDeclaresItsLengthOnAMissAndOnAHit()
    {
        await using var app = await TestApp.StartAsync(cache, listen: true);
        for (var i = 0; i < 3; i++)
        {
            await app.Client.PostImageAsync(TestImages.RandomEllipses());
        }

        using var miss = await app.Client.GetAsync("/images?order=newest&limit=2");
        using var hit = await app.Client.GetAsync("/images?order=newest&limit=2");
        using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/images?order=newest&limit=2"));

        Assert.Equal(("Miss", "Hit"), (miss.CacheOutcome(), hit.CacheOutcome()));
        var body = await miss.Content.ReadAsByteArrayAsync();
        Assert.Equal(2, JsonDocument.Parse(body).RootElement.GetArrayLength());
        AssertDeclaresItsLength(miss, body);
        AssertDeclaresItsLength(hit, await hit.Content.ReadAsByteArrayAsync());
        Assert.Equal(body.Length, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task AnEmptyListDeclaresItsTwoBytes()
    {
        await using var app = await TestApp.StartAsync(cache, listen: true);

        using var empty = await app.Client.GetAsync("/images");

        Assert.Equal("[]", await empty.Content.ReadAsStringAsync());
        Assert.Equal(2, empty.Content.Headers.ContentLength);
    }

    private static void AssertDeclaresItsLength(HttpResponseMessage response, byte[] body)
    {
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class ContentLengthWithMemoryCache() : ContentLengthTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class ContentLengthWithRedis(RedisCacheBackend redis) : ContentLengthTests(redis), IClassFixture<RedisCacheBackend>;
