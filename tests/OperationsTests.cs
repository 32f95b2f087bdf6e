using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Operations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Asgilook.Tests;

/// <summary>Health, metrics, Server-Timing and the request log.</summary>
[Trait(Needs.Trait, Needs.Redis)]
public sealed class OperationsTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    private static readonly Guid FirstId = TestApp.PredictableIds[0];

    [Fact]
    public async Task HealthSaysLiveAndReady()
    {
        await using var app = await TestApp.StartAsync(redis);

        var live = await app.Client.GetFromJsonAsync<JsonElement>("/health");
        var ready = await app.Client.GetFromJsonAsync<JsonElement>("/health/ready");

        Assert.Equal("Healthy", live.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.Contains("Redis at", ready.GetProperty("checks").GetProperty("cache").GetProperty("description").GetString());
    }

    [Fact]
    public async Task ReadinessIsDegradedWithoutRedisAndUnhealthyWithoutStorage()
    {
        await using var app = await TestApp.StartAsync(redis);
        await redis.Server.StopAsync();
        try
        {
            using var degraded = await app.Client.GetAsync("/health/ready");
            var body = await degraded.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
            Assert.Equal("Degraded", body.GetProperty("status").GetString());
            Assert.Equal("Degraded", body.GetProperty("checks").GetProperty("cache").GetProperty("status").GetString());
        }
        finally
        {
            await redis.Server.StartAsync();
        }

        var incoming = Path.Combine(app.StoragePath, Storage.ImageFiles.IncomingFolder);
        Directory.Delete(incoming);
        await File.WriteAllTextAsync(incoming, "not a folder");
        using var unhealthy = await app.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unhealthy.StatusCode);
        Assert.Equal("Unhealthy", (await unhealthy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        using var live = await app.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task HealthIsNeverCached()
    {
        await using var app = await TestApp.StartAsync();

        using var first = await app.Client.GetAsync("/health");
        using var second = await app.Client.GetAsync("/health");

        Assert.Equal((null, null), (first.CacheOutcome(), second.CacheOutcome()));
    }

    [Fact]
    public async Task MetricsAreExportedInPrometheusText()
    {
        await using var app = await TestApp.StartAsync();
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        using (await app.Client.GetAsync(posted.GetProperty("thumbnails")[0].GetString())) { }
        using (await app.Client.GetAsync("/images/not-an-image.jpeg")) { }

        using var metrics = await app.Client.GetAsync("/metrics");
        var text = await metrics.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        foreach (var name in new[]
        {
            "http_server_request_duration_seconds_count", "http_route=\"/thumbnails/{id:guid}/{width:int}x{height:int}.{format}\"",
            "asgilook_cache_lookups_total", "asgilook_thumbnails_rendered_total", "asgilook_thumbnail_duration_seconds",
            "asgilook_upload_bytes_total", "asgilook_upload_conversion_duration_seconds", "asgilook_requests_rejected_total",
            "asgilook_image_work_waiting", "asgilook_image_work_capacity",
        })
        {
            Assert.Contains(name, text);
        }
    }

    [Fact]
    public async Task ServerTimingShowsWhereAThumbnailsTimeWent()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        using var miss = await app.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg");
        using var hit = await app.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg");

        var missTiming = string.Join(", ", miss.Headers.GetValues("Server-Timing"));
        Assert.Matches("cache;desc=\"miss\";dur=[0-9.]+", missTiming);
        Assert.Matches("queue;dur=[0-9.]+", missTiming);
        Assert.Matches("resize;desc=\"decode and resize\";dur=[0-9.]+", missTiming);
        Assert.Matches("encode;dur=[0-9.]+", missTiming);
        Assert.Matches("^cache;desc=\"hit\";dur=[0-9.]+$", string.Join(", ", hit.Headers.GetValues("Server-Timing")));
    }

    [Fact]
    public async Task EachRequestIsLoggedWithItsImageAndCacheOutcome()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        using (await app.Client.GetAsync($"/thumbnails/{FirstId}/320x180.jpeg")) { }

        Assert.Contains(app.Logs.Entries, entry =>
            entry.Category.EndsWith(nameof(RequestLog), StringComparison.Ordinal)
            && entry.Level == LogLevel.Information
            && entry.Message.Contains($"GET /thumbnails/{FirstId}/320x180.jpeg 200", StringComparison.Ordinal)
            && entry.Message.Contains($"image {FirstId}, cache Miss", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartedFromAnotherFolderTheServerStillLogsNoLinePerRequest()
    {
        // The content root is the working folder: started elsewhere, appsettings.json is not read,
        // and the built-in defaults must keep ASP.NET Core's and the request log's lines off.
        var folder = Directory.CreateTempSubdirectory("asgilook-elsewhere-").FullName;
        try
        {
            await using (var server = await ServerProcess.StartAsync(
                new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = Path.Combine(folder, "storage"), ["ASGI_LOOK_REDIS_HOST"] = null },
                folder, [Path.Combine(AppContext.BaseDirectory, "Asgilook.dll")]))
            {
                for (var i = 0; i < 3; i++)
                {
                    using var list = await server.Client.GetAsync("/images");
                    Assert.Equal(HttpStatusCode.OK, list.StatusCode);
                }

                Assert.Contains("Application started", server.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("Request starting", server.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("GET /images 200", server.Output, StringComparison.Ordinal);
            }

            await using var logging = await ServerProcess.StartAsync(
                new Dictionary<string, string?>
                {
                    ["ASGI_LOOK_STORAGE_PATH"] = Path.Combine(folder, "storage"), ["ASGI_LOOK_REDIS_HOST"] = null,
                    ["Logging__LogLevel__Asgilook.Operations.RequestLog"] = "Information",
                },
                folder, [Path.Combine(AppContext.BaseDirectory, "Asgilook.dll")]);
            using (await logging.Client.GetAsync("/images")) { }
            await Loopback.WaitUntilAsync(() => logging.Output.Contains("GET /images 200", StringComparison.Ordinal), "the request was not logged with the request log on");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
