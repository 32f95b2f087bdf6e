using System.Diagnostics;

namespace Asgilook.Tests;

/// <summary>examples/curl.sh and examples/httpie.sh, run against the real server: the sessions they show are real.</summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class ExampleScriptsTests
{
    [Fact]
    public async Task CurlSessionAnswersAsDocumented()
    {
        var output = await RunAgainstServerAsync("curl.sh");

        foreach (var line in new[]
        {
            "== list: 200", "== original: 200 image/jpeg", "X-ASGILook-Cache Miss", "== again: X-ASGILook-Cache Hit",
            ": 304", "== an unlisted size: 404", "== delete without the token: 401", "== delete: 204", "== original after the delete: 404",
        })
        {
            Assert.Contains(line, output);
        }
    }

    [Fact]
    public async Task HttpieSessionAnswersAsDocumented()
    {
        var output = await RunAgainstServerAsync("httpie.sh");

        Assert.Contains("HTTP/1.1 201 Created", output);
        Assert.Matches("(?s)X-ASGILook-Cache: Miss.*X-ASGILook-Cache: Hit", output);
        Assert.Contains("HTTP/1.1 204 No Content", output);
    }

    internal static async Task<string> RunAgainstServerAsync(string script)
    {
        using var temporary = new TemporaryFolder("asgilook-examples-");
        var storage = temporary.Path;
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage,
            ["ASGI_LOOK_REDIS_HOST"] = null,
        });
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(Repository.Root, "examples", script));
        start.ArgumentList.Add(string.Empty);
        start.ArgumentList.Add($"http://127.0.0.1:{server.Port}");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"{script} failed ({process.ExitCode}): {await errors}\n{await output}");
        return await output;
    }
}
