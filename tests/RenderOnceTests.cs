using System.Net;
using Asgilook.Caching;
using Asgilook.Imaging;
using Asgilook.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// A thumbnail that many requests miss at once is rendered once: in one instance (with the memory store,
/// with Redis, and with a Redis that does not answer), and across two instances sharing a real Redis, each
/// with its own engine (so that a second rendering anywhere would be counted).
/// </summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class RenderOnceTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    [InlineData("redis not answering")]
    public async Task MissesInOneInstanceRenderTheThumbnailOnce(string cache)
    {
        using var engine = new BlockingProcessor();
        var settings = cache == "redis not answering"
            ? new Dictionary<string, string?> { ["Asgilook:RedisHost"] = $"redis://127.0.0.1:{Loopback.FreePort()}/0" }
            : null;
        await using var app = await TestApp.StartAsync(cache == "memory" ? null : redis, settings, services: s => s.AddSingleton<IImageProcessor>(engine));
        await app.Client.PostImageAsync(TestImages.RandomEllipses(2400, 1350));
        var uri = $"/thumbnails/{TestApp.PredictableIds[0]}/1200x675.jpeg";
        engine.HoldThumbnails();

        var requests = Enumerable.Range(0, 16).Select(_ => app.Client.GetAsync(uri)).ToList();
        await Loopback.WaitUntilAsync(() => engine.Thumbnails > 0, "nothing started rendering");
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<CacheFill>().Waiting == 15, "not every other request waits for the render");
        engine.ReleaseThumbnails();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, engine.Thumbnails);
        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(response => response.Content.ReadAsByteArrayAsync()));
        Assert.All(bodies, body => Assert.Equal(bodies[0], body));
        Assert.Equal((1200, 675), TestImages.SizeOf(bodies[0]));
        Assert.Equal(15, responses.Count(response => response.Headers.GetValues(CachedAnswer.CacheHeader).Single() == "Hit"));
        Assert.Equal(15, responses.Count(response => response.Headers.GetValues("Server-Timing").Any(timing => timing.Contains("fill;desc=\"filled\""))));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        using (await app.Client.GetAsync($"/thumbnails/{TestApp.PredictableIds[0]}/600x337.jpeg")) { }
        Assert.Equal(2, engine.Thumbnails);
    }

    [Fact]
    public async Task MissesOnTwoInstancesRenderTheThumbnailOnce()
    {
        await using var pair = await TwoInstances.StartAsync(redis);
        var (a, b, engineA, engineB, uri) = pair;

        var requests = Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? a : b).Client.GetAsync(uri)).ToList();
        await Loopback.WaitUntilAsync(() => engineA.Thumbnails + engineB.Thumbnails > 0, "no instance started rendering");
        await Loopback.WaitUntilAsync(
            () => a.Services.GetRequiredService<CacheFill>().Waiting + b.Services.GetRequiredService<CacheFill>().Waiting == 15,
            "not every other request waits for the render");
        engineA.ReleaseThumbnails();
        engineB.ReleaseThumbnails();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, engineA.Thumbnails + engineB.Thumbnails);
        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(response => response.Content.ReadAsByteArrayAsync()));
        Assert.All(bodies, body => Assert.Equal(bodies[0], body));
        Assert.Equal(15, responses.Count(response => response.Headers.GetValues(CachedAnswer.CacheHeader).Single() == "Hit"));
        Assert.Equal(15, responses.Count(response => response.Headers.GetValues("Server-Timing").Any(timing => timing.Contains("fill;desc=\"filled\""))));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task ARenderSlowerThanTheLockExpiryIsStillRenderedOnceAcrossInstances()
    {
        await using var pair = await TwoInstances.StartAsync(redis);
        var (a, b, engineA, engineB, uri) = pair;

        var rendering = a.Client.GetAsync(uri);
        await Loopback.WaitUntilAsync(() => engineA.Thumbnails == 1, "instance A did not start rendering");
        var waiting = b.Client.GetAsync(uri);
        await Loopback.WaitUntilAsync(() => b.Services.GetRequiredService<CacheFill>().Waiting == 1, "instance B does not wait for A's render");
        // A busy machine: the render outlasts the lock's expiry. A renews its lock meanwhile, so B goes on waiting.
        var outlasted = Task.Delay(CacheFill.LockExpiry + TimeSpan.FromSeconds(2));
        await Task.WhenAny(outlasted, waiting);
        Assert.False(waiting.IsCompleted, "instance B stopped waiting while A was still rendering");
        engineA.ReleaseThumbnails();
        engineB.ReleaseThumbnails();
        using var rendered = await rendering;
        using var served = await waiting;

        Assert.Equal((1, 0), (engineA.Thumbnails, engineB.Thumbnails));
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (rendered.StatusCode, served.StatusCode));
        Assert.Contains(served.Headers.GetValues("Server-Timing"), timing => timing.Contains("fill;desc=\"filled\""));
        Assert.Equal(await rendered.Content.ReadAsByteArrayAsync(), await served.Content.ReadAsByteArrayAsync());
    }

    /// <summary>
    /// Two instances on one Redis and one storage folder, one image uploaded, each instance's renders held until released.
    /// </summary>
    private sealed class TwoInstances : IAsyncDisposable
    {
        private readonly TemporaryFolder _storage = new("asgilook-fill-");
        private readonly BlockingProcessor _engineA = new(), _engineB = new();
        private TestApp? _a, _b;

        public static async Task<TwoInstances> StartAsync(RedisCacheBackend redis)
        {
            var pair = new TwoInstances();
            pair._a = await TestApp.StartAsync(redis, storagePath: pair._storage.Path, services: s => s.AddSingleton<IImageProcessor>(pair._engineA));
            pair._b = await TestApp.StartAsync(redis, storagePath: pair._storage.Path, services: s => s.AddSingleton<IImageProcessor>(pair._engineB), keepCache: true);
            await pair._a.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));
            pair._engineA.HoldThumbnails();
            pair._engineB.HoldThumbnails();
            return pair;
        }

        public void Deconstruct(out TestApp a, out TestApp b, out BlockingProcessor engineA, out BlockingProcessor engineB, out string uri) =>
            (a, b, engineA, engineB, uri) = (_a!, _b!, _engineA, _engineB, $"/thumbnails/{TestApp.PredictableIds[0]}/640x360.jpeg");

        public async ValueTask DisposeAsync()
        {
            _engineA.ReleaseThumbnails();
            _engineB.ReleaseThumbnails();
            if (_b is not null)
            {
                await _b.DisposeAsync();
            }

            if (_a is not null)
            {
                await _a.DisposeAsync();
            }

            _engineA.Dispose();
            _engineB.Dispose();
            _storage.Dispose();
        }
    }

    /// <summary>
    /// Takes a fill lock as another instance would: its token and the moment it expires by Redis's clock (locks have no
    /// expiry of their own, so that memory pressure never evicts them).
    /// </summary>
    private async Task HoldLockAsync(string lockKey, TimeSpan holdFor)
    {
        var now = new DateTimeOffset(await redis.Server.Server.TimeAsync(), TimeSpan.Zero);
        await redis.Server.Database.StringSetAsync(lockKey, $"another-instance:{(now + holdFor).ToUnixTimeMilliseconds()}");
    }

    [Fact]
    public async Task LockLeftByADeadInstanceDelaysTheRenderingOnlyUntilItExpires()
    {
        await using var app = await TestApp.StartAsync(redis);
        await app.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var uri = $"/thumbnails/{TestApp.PredictableIds[0]}/640x360.jpeg";
        // What an instance killed while rendering leaves behind: its lock, never released.
        var lockKey = RedisKeys.LockOf(ResponseCache.KeyFor(uri));
        await HoldLockAsync(lockKey, TimeSpan.FromMilliseconds(800));

        using var response = await app.Client.GetAsync(uri);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((640, 360), TestImages.SizeOf(await response.Content.ReadAsByteArrayAsync()));
        Assert.Contains(response.Headers.GetValues("Server-Timing"), timing => timing.Contains("fill;desc=\"took over\""));
        Assert.False(await redis.Server.Database.KeyExistsAsync(lockKey)); // released after storing
        using var again = await app.Client.GetAsync(uri);
        Assert.Equal("Hit", again.Headers.GetValues(CachedAnswer.CacheHeader).Single());
    }

    [Fact]
    public async Task ConditionalRequestsDoNotWaitForTheLock()
    {
        await using var app = await TestApp.StartAsync(redis);
        await app.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var uri = $"/thumbnails/{TestApp.PredictableIds[0]}/640x360.jpeg";
        using var first = await app.Client.GetAsync(uri);
        var etag = first.Headers.ETag!.Tag;
        await redis.ResetAsync();
        await HoldLockAsync(RedisKeys.LockOf(ResponseCache.KeyFor(uri)), TimeSpan.FromMinutes(1));

        using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { { "If-None-Match", etag } } };
        using var revalidated = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.DoesNotContain(revalidated.Headers.TryGetValues("Server-Timing", out var timings) ? timings : [], timing => timing.Contains("fill;"));
    }

    [Fact]
    public async Task StoreThatFailsToLockLetsTheRequestRenderUncoordinated()
    {
        var store = new LockFailingStore(new MemoryCacheStore(1 << 20, TimeProvider.System));
        await using var app = await TestApp.StartAsync(services: s => s.AddSingleton<ICacheStore>(store));
        await app.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var uri = $"/thumbnails/{TestApp.PredictableIds[0]}/640x360.jpeg";

        using var response = await app.Client.GetAsync(uri);
        using var again = await app.Client.GetAsync(uri);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, store.LockAttempts);
        Assert.Equal("Hit", again.Headers.GetValues(CachedAnswer.CacheHeader).Single());
        Assert.Contains(app.Logs.Warnings(nameof(ResponseCache)), message => message.Contains("failed", StringComparison.Ordinal));
    }

    /// <summary>A store whose entries work and whose locks fail, as Redis might between two calls.</summary>
    private sealed class LockFailingStore(MemoryCacheStore inner) : ICacheStore
    {
        private int _lockAttempts;

        public int LockAttempts => Volatile.Read(ref _lockAttempts);

        public string Description => inner.Description;

        public Task<CacheRead> GetAsync(CacheKey key) => inner.GetAsync(key);

        public Task<bool> SetAsync(CacheKey key, byte[] value, TimeSpan timeToLive, long generation) => inner.SetAsync(key, value, timeToLive, generation);

        public Task InvalidateAsync(string key) => inner.InvalidateAsync(key);

        public Task<long> GetGenerationAsync(string tag) => inner.GetGenerationAsync(tag);

        public Task<IHeldLock?> TryLockAsync(string key, TimeSpan expiry)
        {
            Interlocked.Increment(ref _lockAttempts);
            throw new TimeoutException("the lock timed out");
        }
    }
}
