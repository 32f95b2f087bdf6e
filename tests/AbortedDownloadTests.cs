using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Asgilook.Caching;
using Asgilook.Imaging;
using Asgilook.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// A client that goes away mid-answer never leaves a torn answer in the cache (issue 25): whatever point it
/// resets the connection at, the answers that follow are whole and byte-identical to an uncached one, on
/// every cached route, through a real socket, on the embedded store and on Redis with its memory tier.
/// </summary>
public abstract class AbortedDownloadTests
{
    /// <summary>The test routes' answers are cached by path alone, every query parameter ignored.</summary>
    private static readonly ResponseCachePolicy ByPath = new(new CacheVaryByQuery());

    /// <summary>More than Kestrel's output buffer and the socket's hold, so that the server blocks on the aborting client.</summary>
    private const int ListedImages = 400;

    private static readonly AbortAt[] Aborts =
    [
        AbortAt.AfterTheRequest, AbortAt.AfterTheHeaders, AbortAt.IntoTheBody(100), AbortAt.IntoTheBody(600),
        AbortAt.IntoTheBody(5_000), AbortAt.IntoTheBody(9_000), AbortAt.IntoTheBody(20_000),
    ];

    protected abstract ICacheBackend Cache { get; }

    /// <summary>
    /// The bodies the shared store (Redis) holds for the path and its queries, as every other instance would read
    /// them; none for the in-process store, which the app's own answers already show.
    /// </summary>
    protected abstract Task<IReadOnlyList<byte[]>> SharedEntriesAsync(string path);

    [Fact]
    public async Task TheWholeListStaysWholeWhereverAClientAborts()
    {
        await using var app = await StartAsync();
        await SeedAsync(app, ListedImages);
        var reference = await AssertWholeAfterAbortsAsync(app, "/images", IsJsonArrayOf(ListedImages));
        Assert.True(reference.Length > 200_000, $"the list is {reference.Length} bytes: too small to block the server");
    }

    [Fact]
    public async Task AListPageStaysWholeWhereverAClientAborts()
    {
        await using var app = await StartAsync();
        await SeedAsync(app, ListedImages);
        await AssertWholeAfterAbortsAsync(app, "/images?order=newest&limit=300", IsJsonArrayOf(300));
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("webp")]
    public async Task AThumbnailStaysWholeWhereverAClientAborts(string format)
    {
        await using var app = await StartAsync();
        var posted = await app.Client.PostImageAsync(TestImages.Noise(1600, 1200));
        var uri = $"/thumbnails/{posted.GetProperty("id").GetString()}/800x600.{format}";
        var reference = await AssertWholeAfterAbortsAsync(app, uri, body => TestImages.SizeOf(body) == (800, 600));
        Assert.True(reference.Length > 100_000, $"the thumbnail is {reference.Length} bytes: too small to block the server");
    }

    [Fact]
    public async Task AnAnswerWhoseClientLeftWhileItWasProducedIsNeitherStoredNorCountedAsAFill()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        await using var app = await StartAsync(endpoints: app => app.MapGet("/quietly-cut-short", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("[1,2,");
            if (Interlocked.Increment(ref calls) == 1)
            {
                entered.SetResult();
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // As ASP.NET Core's JSON writer does when its flush is cancelled: it stops, without an error.
                    return;
                }
            }

            await context.Response.WriteAsync("3]");
        }).CacheResponses(ByPath));
        using var fills = new MeasurementCounter(app.Services, "asgilook.cache.fills", "outcome");

        // The client goes once the endpoint has written part of its answer.
        await AbortingClient.GetAndAbortAsync(app.Port!.Value, "/quietly-cut-short", AbortAt.AfterTheRequest, resetOnce: entered.Task);
        await Loopback.WaitUntilAsync(() => fills["aborted"] == 1, "the cut-short answer was never accounted for");

        using var next = await app.Client.GetAsync("/quietly-cut-short");
        Assert.Equal((HttpStatusCode.OK, "Miss", "[1,2,3]"), (next.StatusCode, next.CacheOutcome(), await next.Content.ReadAsStringAsync()));
        Assert.Equal(5 + 2, next.Content.Headers.ContentLength);
        using var hit = await app.Client.GetAsync("/quietly-cut-short");
        Assert.Equal(("Hit", "[1,2,3]"), (hit.CacheOutcome(), await hit.Content.ReadAsStringAsync()));
        Assert.Equal((1, 1, 0), (fills["aborted"], fills["stored"], fills["torn"]));
    }

    [Fact]
    public async Task ABodyThatIsNotOneWholeAnswerIsRefusedLoggedAndNeverServed()
    {
        await using var app = await StartAsync(endpoints: app =>
        {
            app.MapGet("/two-answers-run-together", () => Results.Text("[1,2][3]", "application/json")).CacheResponses(ByPath);
            app.MapGet("/a-jpeg-without-its-end", () => Results.Bytes([0xFF, 0xD8, 0xFF, 0xE0, 0, 0], "image/jpeg")).CacheResponses(ByPath);
        });
        using var fills = new MeasurementCounter(app.Services, "asgilook.cache.fills", "outcome");
        foreach (var uri in new[] { "/two-answers-run-together", "/a-jpeg-without-its-end" })
        {
            for (var i = 0; i < 2; i++)
            {
                using var response = await app.Client.GetAsync(uri);
                Assert.Equal((HttpStatusCode.OK, "Miss"), (response.StatusCode, response.CacheOutcome()));
            }
        }

        Assert.Equal((4, 0), (fills["torn"], fills["stored"]));
        Assert.Equal(4, app.Logs.Warnings("ResponseCacheMiddleware").Count(line => line.Contains("its body is not whole", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AbortedAndCompleteRequestsForOneKeyAtOnceAllGetTheWholeAnswer()
    {
        await using var app = await StartAsync();
        await SeedAsync(app, ListedImages);
        var posted = await app.Client.PostImageAsync(TestImages.Noise(1600, 1200));
        var cache = app.Services.GetRequiredService<ResponseCache>();
        foreach (var uri in new[] { $"/thumbnails/{posted.GetProperty("id").GetString()}/800x600.webp", "/images" })
        {
            var reference = await app.Client.GetByteArrayAsync(uri);
            for (var round = 0; round < 3; round++)
            {
                await EvictAsync(cache, uri);
                var aborted = Aborts.Select(at => AbortingClient.GetAndAbortAsync(app.Port!.Value, uri, at));
                var complete = Enumerable.Range(0, 6).Select(_ => app.Client.GetByteArrayAsync(uri));
                var bodies = await Task.WhenAll(complete.Concat(aborted.Select(async abort => { await abort; return reference; })));
                Assert.All(bodies, body => Assert.Equal(reference, body));
                await AssertAnswersAsync(app, uri, reference, $"round {round}");
            }
        }
    }

    /// <summary>Evicts the cached answers of <paramref name="uri"/>: a thumbnail's by its image's tag, the list's by the list's.</summary>
    private static Task EvictAsync(ResponseCache cache, string uri) =>
        cache.EvictAsync(uri.StartsWith("/thumbnails/", StringComparison.Ordinal) ? ResponseCache.ImageTag(uri.Split('/')[2]) : ResponseCache.ListTag);

    private Task<TestApp> StartAsync(Action<WebApplication>? endpoints = null) =>
        TestApp.StartAsync(Cache, listen: true, endpoints: endpoints, settings: new Dictionary<string, string?>
        {
            // The tests read hundreds of thumbnails and lists quickly: the per-client limits are another test's concern.
            ["Asgilook:RateLimits:UploadsPerMinute"] = "0",
            ["Asgilook:RateLimits:RendersPerMinute"] = "0",
        });

    /// <summary>
    /// Aborts a GET of <paramref name="uri"/> at every point of <see cref="Aborts"/>, each time on a cold entry,
    /// and checks what follows; answers the uncached body.
    /// </summary>
    private async Task<byte[]> AssertWholeAfterAbortsAsync(TestApp app, string uri, Func<byte[], bool> isWhole)
    {
        var cache = app.Services.GetRequiredService<ResponseCache>();
        await EvictAsync(cache, uri);
        using var uncached = await app.Client.GetAsync(uri);
        Assert.Equal((HttpStatusCode.OK, "Miss"), (uncached.StatusCode, uncached.CacheOutcome()));
        var reference = await uncached.Content.ReadAsByteArrayAsync();
        Assert.True(isWhole(reference), "the uncached answer itself is not whole");
        using var fills = new MeasurementCounter(app.Services, "asgilook.cache.fills", "outcome");
        foreach (var at in Aborts)
        {
            await EvictAsync(cache, uri);
            await AbortingClient.GetAndAbortAsync(app.Port!.Value, uri, at);
            await AssertAnswersAsync(app, uri, reference, $"after a client aborted {at}");
        }

        Assert.Equal(0, fills["torn"]);
        return reference;
    }

    /// <summary>GET (twice: the second may be a hit), HEAD and a conditional GET answer the reference; so does what Redis holds.</summary>
    private async Task AssertAnswersAsync(TestApp app, string uri, byte[] reference, string when)
    {
        for (var i = 0; i < 2; i++)
        {
            using var response = await app.Client.GetAsync(uri);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(HttpStatusCode.OK == response.StatusCode, $"{response.StatusCode} {when}");
            Assert.True(reference.AsSpan().SequenceEqual(body),
                $"{when}: a {response.CacheOutcome()} of {body.Length} bytes, not the {reference.Length} of an uncached answer");
            Assert.Equal(reference.Length, response.Content.Headers.ContentLength);
            if (response.Headers.ETag is { } etag)
            {
                using var conditional = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { IfNoneMatch = { etag } } };
                using var notModified = await app.Client.SendAsync(conditional);
                Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            }
        }

        using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri));
        Assert.Equal((HttpStatusCode.OK, (long?)reference.Length), (head.StatusCode, head.Content.Headers.ContentLength));
        foreach (var shared in await SharedEntriesAsync(uri.Split('?')[0]))
        {
            Assert.True(reference.AsSpan().SequenceEqual(shared), $"{when}: Redis holds {shared.Length} bytes, not the {reference.Length} of an uncached answer");
        }
    }

    private static Func<byte[], bool> IsJsonArrayOf(int count) => body =>
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetArrayLength() == count;
    };

    /// <summary>Catalog rows for a long list, written straight to the catalog (the list reads only rows).</summary>
    private static async Task SeedAsync(TestApp app, int count)
    {
        var catalog = app.Services.GetRequiredService<IImageCatalog>();
        var placeholder = new Placeholder("data:image/webp;base64,UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==", "#6a8caf");
        var start = DateTimeOffset.UnixEpoch.AddYears(56);
        for (var i = 0; i < count; i++)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));
            await catalog.AddAsync(
                new StoredImage(Guid.NewGuid(), 4000, 3000, start.AddSeconds(i), 1_000_000, hash, Placeholder: placeholder), CancellationToken.None);
        }
    }
}

public sealed class AbortedDownloadsOnTheEmbeddedStore : AbortedDownloadTests
{
    protected override ICacheBackend Cache { get; } = new MemoryCacheBackend();

    protected override Task<IReadOnlyList<byte[]>> SharedEntriesAsync(string path) => Task.FromResult<IReadOnlyList<byte[]>>([]);
}

/// <summary>With Redis, the memory tier in front of it is on (as shipped): both are checked.</summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class AbortedDownloadsOnRedis(RedisCacheBackend redis) : AbortedDownloadTests, IClassFixture<RedisCacheBackend>
{
    protected override ICacheBackend Cache => redis;

    protected override async Task<IReadOnlyList<byte[]>> SharedEntriesAsync(string path)
    {
        var tag = ResponseCache.KeyFor(new PathString(path));
        var keys = redis.Server.Server.Keys(pattern: tag + "*").Select(key => key.ToString())
            .Where(key => key == tag || key.StartsWith(tag + "?", StringComparison.Ordinal));
        var bodies = new List<byte[]>();
        foreach (var key in keys)
        {
            if (await redis.Server.Database.StringGetAsync(key) is { IsNull: false } value)
            {
                bodies.Add(CachedResponse.Deserialize(value!).Body);
            }
        }

        return bodies;
    }
}
