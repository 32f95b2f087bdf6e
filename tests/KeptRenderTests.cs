using System.Net;
using System.Text.Json;
using Asgilook.Imaging;
using Asgilook.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// Rendered thumbnails are kept beside their image: each (image, size, format) is rendered once for the
/// image's lifetime, whatever happens to the caches, and the renders go with the image.
/// </summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class KeptRenderTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    private static IEnumerable<string> EveryThumbnail(JsonElement posted) =>
        posted.GetProperty("sources").EnumerateObject().SelectMany(format => format.Value.EnumerateArray().Select(source => source.GetProperty("uri").GetString()!));

    [Fact]
    public async Task EachSizeAndFormatIsRenderedOnceAcrossRestartsAndRedisFlushes()
    {
        using var storage = new TemporaryFolder("asgilook-kept-");
        var renders = 0;
        string[] uris = [];
        Dictionary<string, byte[]> first = [];
        for (var restart = 0; restart < 3; restart++)
        {
            using var engine = new BlockingProcessor();
            await using (var app = await TestApp.StartAsync(redis, storagePath: storage.Path, keepCache: restart > 0, services: s => s.AddSingleton<IImageProcessor>(engine)))
            {
                if (restart == 0)
                {
                    uris = [.. EveryThumbnail(await app.Client.PostImageAsync(TestImages.RandomEllipses()))];
                }

                for (var flush = 0; flush < 2; flush++)
                {
                    await redis.Server.FlushAsync();
                    app.Services.GetRequiredService<Asgilook.Caching.MemoryTier>().Clear();
                    foreach (var uri in uris)
                    {
                        using var answer = await app.Client.GetAsync(uri);
                        Assert.Equal((HttpStatusCode.OK, "Miss"), (answer.StatusCode, answer.CacheOutcome()));
                        var body = await answer.Content.ReadAsByteArrayAsync();
                        Assert.Equal(first.TryAdd(uri, body) ? body : first[uri], body);
                    }

                    // A kept render is put in the cache once it has been sent: wait for that, so the next flush empties it.
                    await Loopback.WaitUntilAsync(async () =>
                    {
                        foreach (var uri in uris)
                        {
                            using var again = await app.Client.GetAsync(uri);
                            if (again.CacheOutcome() != "Hit")
                            {
                                return false;
                            }
                        }

                        return true;
                    }, "a kept render was not cached once sent");
                }
            }

            renders += engine.Thumbnails;
        }

        Assert.True(uris.Length >= 6 && uris.Length % 3 == 0, "every size in JPEG, WebP and AVIF");
        Assert.Equal(uris.Length, renders);
        Assert.Equal(uris.Length, Directory.GetFiles(Path.Combine(storage.Path, $"{FirstId}.renders")).Length);
    }

    [Fact]
    public async Task AKeptRenderIsReadNotRenderedAndSpendsNoRenderBudget()
    {
        using var storage = new TemporaryFolder("asgilook-kept-");
        await using (var writer = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await writer.Client.PostImageAsync(TestImages.RandomEllipses());
            using (await writer.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg")) { }
        }

        await using var app = await TestApp.StartAsync(storagePath: storage.Path, settings: new Dictionary<string, string?> { ["Asgilook:RateLimits:RendersPerMinute"] = "1" });
        using var kept = await app.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg");
        Assert.Equal((HttpStatusCode.OK, "Miss"), (kept.StatusCode, kept.CacheOutcome()));
        Assert.Contains(kept.Headers.GetValues("Server-Timing"), timing => timing.Contains("kept;", StringComparison.Ordinal));
        using var rendered = await app.Client.GetAsync($"/thumbnails/{FirstId}/160x90.jpeg");
        Assert.Equal(HttpStatusCode.OK, rendered.StatusCode);
        using var refused = await app.Client.GetAsync($"/thumbnails/{FirstId}/160x90.webp");
        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task AKeptRenderIsAnsweredAsAFileWithoutTheFillLockThenCachedForTheNextRequest()
    {
        using var storage = new TemporaryFolder("asgilook-kept-");
        var uri = $"/thumbnails/{FirstId}/320x180.jpeg";
        await using (var writer = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await writer.Client.PostImageAsync(TestImages.RandomEllipses());
            using (await writer.Client.GetAsync(uri)) { }
        }

        await redis.Server.FlushAsync();
        using var engine = new BlockingProcessor();
        await using var app = await TestApp.StartAsync(redis, storagePath: storage.Path, keepCache: true, services: s => s.AddSingleton<IImageProcessor>(engine));
        // Another instance holds the key's fill lock for a minute: a read of the kept file does not wait for it.
        var now = new DateTimeOffset(await redis.Server.Server.TimeAsync(), TimeSpan.Zero);
        await redis.Server.Database.StringSetAsync(
            RedisKeys.LockOf(Asgilook.Caching.ResponseCache.KeyFor(uri)), $"another-instance:{(now + TimeSpan.FromMinutes(1)).ToUnixTimeMilliseconds()}");

        // A HEAD is answered from the file and puts nothing in the cache.
        for (var i = 0; i < 3; i++)
        {
            using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri));
            Assert.Equal((HttpStatusCode.OK, "Miss"), (head.StatusCode, head.CacheOutcome()));
        }

        using var kept = await app.Client.GetAsync(uri);
        Assert.Equal((HttpStatusCode.OK, "Miss"), (kept.StatusCode, kept.CacheOutcome()));
        Assert.DoesNotContain(kept.Headers.GetValues("Server-Timing"), timing => timing.Contains("fill;", StringComparison.Ordinal));
        var body = await kept.Content.ReadAsByteArrayAsync();

        // Once sent, the GET's render is put in the cache: what follows is a hit, with the same bytes and validators.
        await Loopback.WaitUntilAsync(async () =>
        {
            using var next = await app.Client.GetAsync(uri);
            return next.CacheOutcome() == "Hit" && (await next.Content.ReadAsByteArrayAsync()).SequenceEqual(body) && Equals(next.Headers.ETag, kept.Headers.ETag);
        }, "the kept render was never cached");
        Assert.Equal(0, engine.Thumbnails);
    }

    [Fact]
    public async Task ADeleteTakesTheKeptRendersWithIt()
    {
        await using var app = await TestApp.StartAsync(redis);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        foreach (var uri in EveryThumbnail(posted))
        {
            using (await app.Client.GetAsync(uri)) { }
        }

        var renders = Path.Combine(app.StoragePath, $"{FirstId}.renders");
        Assert.Equal(EveryThumbnail(posted).Count(), Directory.GetFiles(renders).Length);

        using var deleted = await app.Client.DeleteImageAsync(posted);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(Directory.Exists(renders));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(app.StoragePath), path => path.Contains(FirstId.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("foreign")]
    [InlineData("empty")]
    public async Task ADamagedKeptRenderIsNeverServedAndIsRenderedAgain(string damage)
    {
        using var storage = new TemporaryFolder("asgilook-kept-");
        var uri = $"/thumbnails/{FirstId}/320x180.jpeg";
        byte[] real;
        await using (var writer = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await writer.Client.PostImageAsync(TestImages.RandomEllipses());
            real = await writer.Client.GetByteArrayAsync(uri);
        }

        var file = Directory.GetFiles(Path.Combine(storage.Path, $"{FirstId}.renders")).Single();
        await File.WriteAllBytesAsync(file, damage switch
        {
            "truncated" => real[..(real.Length / 2)],
            "foreign" => "<html><script>alert(1)</script></html>"u8.ToArray(),
            _ => [],
        });

        using var engine = new BlockingProcessor();
        await using var app = await TestApp.StartAsync(storagePath: storage.Path, services: s => s.AddSingleton<IImageProcessor>(engine));
        using var answer = await app.Client.GetAsync(uri);
        Assert.Equal((HttpStatusCode.OK, "image/jpeg"), (answer.StatusCode, answer.ContentType()));
        Assert.Equal(real, await answer.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, engine.Thumbnails);
        Assert.Equal(real, await File.ReadAllBytesAsync(Directory.GetFiles(Path.Combine(storage.Path, $"{FirstId}.renders")).Single()));
        Assert.Single(app.Logs.Warnings("ThumbnailRenderer"), warning => warning.Contains("is not a whole image", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OrphanRendersAreRemovedAtStartAndAnImagesRendersStay()
    {
        using var storage = new TemporaryFolder("asgilook-kept-");
        await using (var writer = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await writer.Client.PostImageAsync(TestImages.RandomEllipses());
            using (await writer.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg")) { }
        }

        var orphan = Directory.CreateDirectory(Path.Combine(storage.Path, $"{Guid.NewGuid()}.renders"));
        await File.WriteAllBytesAsync(Path.Combine(orphan.FullName, "320x180.0123456789abcdef.jpeg"), [0xFF, 0xD8]);
        var recent = Directory.CreateDirectory(Path.Combine(storage.Path, $"{Guid.NewGuid()}.renders"));
        Directory.SetLastWriteTimeUtc(orphan.FullName, DateTime.UtcNow.AddHours(-2));

        await using (await TestApp.StartAsync(storagePath: storage.Path))
        {
            Assert.False(orphan.Exists && Directory.Exists(orphan.FullName));
            Assert.True(Directory.Exists(recent.FullName)); // maybe another instance's upload in progress: left for a later start
            Assert.Single(Directory.GetFiles(Path.Combine(storage.Path, $"{FirstId}.renders")));
        }
    }

    [Fact]
    public async Task WhenTheDiskIsShortOfRoomARenderIsServedButNotKept()
    {
        using var storage = new TemporaryFolder("asgilook-kept-");
        await using (var writer = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await writer.Client.PostImageAsync(TestImages.RandomEllipses());
        }

        await using var app = await TestApp.StartAsync(storagePath: storage.Path, settings: new Dictionary<string, string?> { ["Asgilook:MinFreeDiskMegabytes"] = "100000000" });
        using var answer = await app.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(storage.Path, $"{FirstId}.renders")));
    }
}
