using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>The built server honours the tutorial's environment variables exactly as documented.</summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class ServerProcessTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task HonoursStoragePathAndRedisHostFromTheEnvironment()
    {
        await redis.ResetAsync();
        using var temporary = new TemporaryFolder("asgilook-process-");
        var storage = temporary.Path;
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage,
            ["ASGI_LOOK_REDIS_HOST"] = redis.RedisHost,
        });
        Assert.Contains($"Response cache: Redis at 127.0.0.1:{redis.Server.Port}, database 0", server.Output);

        using var posted = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var image = await posted.Content.ReadFromJsonAsync<JsonElement>();
        var id = image.GetProperty("id").GetString();
        Assert.True(File.Exists(Path.Combine(storage, $"{id}.jpeg")));

        var thumbnail = image.GetProperty("thumbnails")[0].GetString()!;
        using (var miss = await server.Client.GetAsync(thumbnail))
        {
            Assert.Equal("Miss", miss.CacheOutcome());
        }

        using (var hit = await server.Client.GetAsync(thumbnail))
        {
            Assert.Equal("Hit", hit.CacheOutcome());
        }

        Assert.True(await redis.Server.Database.KeyExistsAsync($"asgilook:{thumbnail}"));
    }

    [Fact]
    public async Task RunsWithEmbeddedDefaultsWithoutRedis()
    {
        using var temporary = new TemporaryFolder("asgilook-process-");
        var storage = temporary.Path;
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage,
            ["ASGI_LOOK_REDIS_HOST"] = null,
        });
        Assert.Contains("Response cache: in-process memory", server.Output);

        using var first = await server.Client.GetAsync("/images");
        using var second = await server.Client.GetAsync("/images");
        Assert.Equal(("Miss", "Hit"), (first.CacheOutcome(), second.CacheOutcome()));
    }

    [Fact]
    public async Task ReadmeFirstCommandRunsTheService()
    {
        using var temporary = new TemporaryFolder("asgilook-readme-");
        var storage = temporary.Path;
        // The README's `dotnet run --project asgilook`, on the build the tests already made.
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = storage, ["ASGI_LOOK_REDIS_HOST"] = null },
            Repository.Root,
            ["run", "--project", "asgilook", "--no-build", "-c", configuration, "--"]);

        using var posted = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Contains("Response cache: in-process memory", server.Output);
    }
}
