using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>
/// With Asgilook:ManagementUrls, metrics, readiness details and the OpenAPI document move to their own
/// port; the public port keeps liveness and a readiness summary, and a forged Host header changes nothing.
/// </summary>
public sealed class ManagementPortTests
{
    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task OperationsMoveToTheManagementPortAndThePublicPortShowsNoneOfTheirDetails()
    {
        using var storage = new TemporaryFolder("asgilook-management-");
        var managementPort = Loopback.FreePort();
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["Asgilook__ManagementUrls"] = $"http://127.0.0.1:{managementPort}",
        });
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}") };

        foreach (var uri in new[] { "/metrics", "/openapi/v1.json" })
        {
            using var hidden = await server.Client.GetAsync(uri);
            await hidden.AssertProblemAsync(HttpStatusCode.NotFound);
            using var forged = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { Host = $"127.0.0.1:{managementPort}" } };
            using var forgedAnswer = await server.Client.SendAsync(forged);
            Assert.Equal(HttpStatusCode.NotFound, forgedAnswer.StatusCode);
            using var served = await management.GetAsync(uri);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        Assert.Contains("asgilook_image_work_capacity", await management.GetStringAsync("/metrics"));
        var summary = await server.Client.GetFromJsonAsync<JsonElement>("/health/ready");
        Assert.Equal("Healthy", summary.GetProperty("status").GetString());
        Assert.False(summary.TryGetProperty("checks", out _));
        Assert.DoesNotContain(storage.Path, await server.Client.GetStringAsync("/health/ready"));
        var details = await management.GetFromJsonAsync<JsonElement>("/health/ready");
        Assert.Contains(storage.Path, details.GetProperty("checks").GetProperty("storage").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);

        // The management port serves operations only, and the public one everything else as before.
        using var apiOnManagement = await management.GetAsync("/images");
        Assert.Equal(HttpStatusCode.NotFound, apiOnManagement.StatusCode);
        Assert.Equal("[]", await server.Client.GetStringAsync("/images"));
    }

    [Theory]
    [InlineData("http://127.0.0.1")]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:9090")]
    public async Task AManagementUrlWithoutAPortFailsAtStartup(string url)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ManagementUrls"] = url }));

        Assert.Contains("ManagementUrls", failure.Message);
    }
}
