using System.Net;
using System.Text.RegularExpressions;
using Asgilook.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// No client can exhaust the service: per-client token buckets for uploads and renders, shared by every
/// instance through Redis, counted locally while Redis is away, never believing a forged X-Forwarded-For.
/// </summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed partial class RateLimitTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UploadsPastTheBudgetAre429WithRetryAfterAndRateLimitHeadersAndStoreNothing(bool withRedis)
    {
        await using var app = await TestApp.StartAsync(withRedis ? redis : null, Limits(uploads: 5));
        var pngs = Enumerable.Range(0, 6).Select(_ => TestImages.RandomEllipses(200, 100)).ToArray(); // six contents: none stored once for another

        var passed = await Task.WhenAll(pngs[..5].Select(png => app.Client.PostAsync("/images", new ByteArrayContent(png))));
        using var refused = await app.Client.PostAsync("/images", new ByteArrayContent(pngs[5]));

        Assert.All(passed, response => Assert.Equal(HttpStatusCode.Created, response.StatusCode));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("5 images a minute", problem.GetProperty("detail").GetString());
        var retryAfter = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 12); // a token comes back every 12 s at 5 a minute
        Assert.Equal("\"uploads\";q=5;w=60", Assert.Single(refused.Headers.GetValues("RateLimit-Policy")));
        Assert.Matches("^\"uploads\";r=0;t=(5[0-9]|60)$", Assert.Single(refused.Headers.GetValues("RateLimit")));
        // A passed upload also took its megapixels (one, for 200x100): both policies are listed.
        Assert.Collection(passed[0].Headers.GetValues("RateLimit"),
            uploads => Assert.Matches("^\"uploads\";r=[0-4];t=[0-9]+$", uploads),
            megapixels => Assert.Matches("^\"upload-megapixels\";r=99[5-9];t=[0-9]+$", megapixels));
        Assert.Equal(5, app.StoredFiles().Length);
        foreach (var response in passed)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task OnlyRendersCountAgainstTheRenderBudgetNeverCacheHits()
    {
        await using var app = await TestApp.StartAsync(settings: Limits(renders: 2));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var thumbnails = posted.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!).ToArray();

        var statuses = new List<HttpStatusCode>();
        foreach (var uri in new[] { thumbnails[0], thumbnails[0], thumbnails[0], thumbnails[1], thumbnails[2] })
        {
            using var response = await app.Client.GetAsync(uri);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var problem = await response.AssertProblemAsync(HttpStatusCode.TooManyRequests);
                Assert.Contains("rendered", problem.GetProperty("detail").GetString());
                Assert.Equal("\"renders\";q=2;w=60", Assert.Single(response.Headers.GetValues("RateLimit-Policy")));
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
        }

        // Two renders, two hits in between, then the third render is refused; a refusal is not cached.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        using var again = await app.Client.GetAsync(thumbnails[2]);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
    }

    [Fact]
    public async Task ZeroTurnsALimitOff()
    {
        await using var app = await TestApp.StartAsync(settings: Limits(uploads: 0));
        var png = TestImages.RandomEllipses(200, 100);

        var responses = new List<HttpResponseMessage>();
        for (var batch = 0; batch < 7; batch++)
        {
            responses.AddRange(await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => app.Client.PostAsync("/images", new ByteArrayContent(png)))));
        }

        Assert.Equal(70, responses.Count);
        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Created, response.StatusCode));
        Assert.All(responses, response => Assert.False(response.Headers.Contains("RateLimit")));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task TwoInstancesOnOneRedisShareOneBudget()
    {
        // Storage of their own: both hand out the same predictable ids.
        await using var a = await TestApp.StartAsync(redis, Limits(uploads: 4));
        await using var b = await TestApp.StartAsync(redis, Limits(uploads: 4), keepCache: true);
        var png = TestImages.RandomEllipses(200, 100);

        var statuses = new List<HttpStatusCode>();
        foreach (var client in new[] { a.Client, b.Client, a.Client, b.Client, a.Client, b.Client })
        {
            using var response = await client.PostAsync("/images", new ByteArrayContent(png));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(4, statuses.Count(status => status == HttpStatusCode.Created));
        Assert.Equal([HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses[4..]);
    }

    [Fact]
    public async Task WhileRedisIsAwayEachInstanceLimitsOnItsOwnNeverNotAtAllAndNeverEveryone()
    {
        await using var app = await TestApp.StartAsync(redis, Limits(uploads: 3));
        var png = TestImages.RandomEllipses(200, 100);
        await redis.Server.StopAsync();
        try
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 5; i++)
            {
                using var response = await app.Client.PostAsync("/images", new ByteArrayContent(png));
                statuses.Add(response.StatusCode);
            }

            Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
            Assert.Single(app.Logs.Warnings(nameof(RateLimits)), warning => warning.Contains("counts on its own", StringComparison.Ordinal));
        }
        finally
        {
            await redis.Server.StartAsync();
        }
    }

    [Fact]
    public async Task ABucketIsKeptInRedisUnderTheClientNeverTheKey()
    {
        await using var app = await TestApp.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
            ["Asgilook:UploadKeys:1"] = Secrets.OtherUploadKey,
            ["Asgilook:RateLimits:UploadsPerMinute"] = "2",
        });
        var png = TestImages.RandomEllipses(200, 100);

        for (var i = 0; i < 2; i++)
        {
            await app.Client.PostImageAsync(png, Secrets.UploadKey);
        }

        await app.Client.PostImageAsync(png, Secrets.OtherUploadKey); // a budget of its own
        var keys = (await redis.Server.Server.KeysAsync(pattern: "asgilook:ratelimit:*").ToArrayAsync()).Select(key => key.ToString()).ToArray();

        // Each key's uploads bucket (two a minute: far from full again); a megapixel bucket refills in 60 ms and may be gone already.
        Assert.Equal(2, keys.Count(key => key.Contains(":uploads:", StringComparison.Ordinal)));
        Assert.All(keys, key => Assert.Matches("^asgilook:ratelimit:(uploads|upload-megapixels):key:[0-9a-f]{32}$", key));
        Assert.DoesNotContain(keys, key => key.Contains(Secrets.KeyPrefix, StringComparison.Ordinal));
        // No expiry of their own (memory pressure would evict them first): the policy's index says when each is full again.
        Assert.All(keys, key => Assert.Null(redis.Server.Database.KeyTimeToLive(key)));
        var now = new DateTimeOffset(await redis.Server.Server.TimeAsync(), TimeSpan.Zero).ToUnixTimeMilliseconds();
        var fullAt = await redis.Server.Database.SortedSetScoreAsync(Asgilook.Redis.RedisKeys.RateLimitIndexOf("uploads"), keys.First(key => key.Contains(":uploads:")));
        Assert.InRange(fullAt!.Value - now, 1_000, 62_000);
    }

    [Fact]
    public async Task ForwardedForIsBelievedOnlyFromTrustedProxies()
    {
        using var storage = new TemporaryFolder("asgilook-proxies-");
        var environment = new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["Asgilook__RateLimits__UploadsPerMinute"] = "2",
        };
        var png = TestImages.RandomEllipses(200, 100);

        await using (var untrusting = await ServerProcess.StartAsync(environment))
        {
            // A client naming itself someone new each time still spends one budget: its own address's.
            var statuses = await UploadAsAsync(untrusting, png, "203.0.113.1", "203.0.113.2", "203.0.113.3");
            Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests], statuses);
        }

        environment["Asgilook__TrustedProxies__0"] = "127.0.0.1";
        environment["ASGI_LOOK_STORAGE_PATH"] = Path.Combine(storage.Path, "behind-a-proxy");
        await using var proxied = await ServerProcess.StartAsync(environment);
        // Behind a trusted proxy, the address it forwards is the client: two clients, two budgets.
        var proxiedStatuses = await UploadAsAsync(proxied, png, "203.0.113.1", "203.0.113.1", "203.0.113.1", "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3");
        Assert.Equal(
            [HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests],
            proxiedStatuses);
    }

    [Fact]
    public async Task ARefusedUploadIsDecidedFromItsHeadersBeforeTheBodyArrives()
    {
        using var storage = new TemporaryFolder("asgilook-limits-");
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["Asgilook__RateLimits__UploadsPerMinute"] = "1",
        });
        await server.Client.PostImageAsync(TestImages.RandomEllipses(200, 100));

        var (status, headers, _) = await RawUpload.SendHeadersAndSomeOfTheBodyAsync(server.Port, 30_000_000, 64 * 1024);

        Assert.Equal(429, status);
        Assert.Matches(RetryAfter(), headers);
        Assert.Single(Directory.GetFiles(storage.Path, "*.jpeg"));
    }

    private static async Task<List<HttpStatusCode>> UploadAsAsync(ServerProcess server, byte[] png, params string[] forwardedFor)
    {
        var statuses = new List<HttpStatusCode>();
        foreach (var client in forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(png) };
            request.Headers.Add("X-Forwarded-For", client);
            using var response = await server.Client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }

    private static Dictionary<string, string?> Limits(int uploads = 60, int renders = 600, int? megapixels = null) => new()
    {
        ["Asgilook:RateLimits:UploadsPerMinute"] = uploads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Asgilook:RateLimits:UploadMegapixelsPerMinute"] = (megapixels ?? (uploads == 0 ? 0 : 1000)).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Asgilook:RateLimits:RendersPerMinute"] = renders.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task UploadsAreCountedByTheMegapixelsTheyDeclareBeforeAnythingIsDecoded()
    {
        await using var app = await TestApp.StartAsync(settings: Limits(megapixels: 30));
        // A flat 5000x5000 PNG: a few kilobytes to send, 25 megapixels to decode.
        var large = TestImages.Flat(5000, 5000);

        using var first = await app.Client.PostAsync("/images", new ByteArrayContent(large));
        using var second = await app.Client.PostAsync("/images", new ByteArrayContent(large));
        using var small = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(200, 100)));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var problem = await second.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("30 megapixels a minute, and this one counts 25", problem.GetProperty("detail").GetString());
        Assert.InRange(second.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 39, 41); // 20 of the 25 must come back, at half a megapixel a second
        Assert.Equal(HttpStatusCode.Created, small.StatusCode); // five are left, one is enough
        Assert.Equal(2, app.StoredFiles().Length);
    }

    [Fact]
    public async Task ALargeThumbnailCostsOneRenderPerMegapixel()
    {
        await using var app = await TestApp.StartAsync(settings: Limits(renders: 5));
        var posted = await app.Client.PostImageAsync(TestImages.Flat(4000, 3000));
        var id = posted.GetProperty("id").GetString();

        using var large = await app.Client.GetAsync($"/thumbnails/{id}/2000x1500.jpeg"); // 3 megapixels: 3 of the 5
        using var tooLarge = await app.Client.GetAsync($"/thumbnails/{id}/2000x1500.webp"); // 3 more: 2 are left
        using var small = await app.Client.GetAsync($"/thumbnails/{id}/500x375.jpeg"); // one

        Assert.Equal(HttpStatusCode.OK, large.StatusCode);
        var problem = await tooLarge.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("this one 3", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [GeneratedRegex("Retry-After: [0-9]+\r?\n?")]
    private static partial Regex RetryAfter();
}
