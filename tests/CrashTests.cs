using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Asgilook.Tests;

/// <summary>
/// A real server killed with SIGKILL in the middle of a burst of uploads (of four contents, each sent many times) loses
/// nothing it confirmed and keeps each content's bytes once.
/// </summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KilledMidBurstEveryListedImageIsCompleteAndEveryConfirmedUploadListed()
    {
        using var temporary = new TemporaryFolder("asgilook-crash-");
        var storage = temporary.Path;
        var environment = new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage,
            ["ASGI_LOOK_REDIS_HOST"] = null,
            // Nothing else shares this folder, so leftovers may go at once on restart.
            ["Asgilook__LeftoverGracePeriod"] = "00:00:00",
        };
        var uploads = Enumerable.Range(0, 4).Select(i => TestImages.RandomEllipses(1600 + i, 900)).ToArray();
        var confirmed = new ConcurrentBag<string>();

        await using (var server = await ServerProcess.StartAsync(environment))
        {
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested && n < 200; n++)
                {
                    try
                    {
                        using var response = await server.Client.PostAsync("/images", new ByteArrayContent(uploads[(worker + n) % uploads.Length]), stop.Token);
                        if (response.StatusCode == HttpStatusCode.Created)
                        {
                            confirmed.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                    {
                        return; // the server is gone
                    }
                }
            })).ToArray();

            await Loopback.WaitUntilAsync(() => confirmed.Count >= 12, "uploads did not get going", timeoutSeconds: 60);
            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        await using var restarted = await ServerProcess.StartAsync(environment);
        var listed = (await restarted.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().ToArray();
        output.WriteLine($"{confirmed.Count} uploads confirmed before the kill, {listed.Length} listed after the restart");

        var listedIds = listed.Select(image => image.GetProperty("id").GetString()!).ToHashSet();
        Assert.Empty(confirmed.Except(listedIds));
        foreach (var image in listed)
        {
            var jpeg = await restarted.Client.GetByteArrayAsync(image.GetProperty("image").GetString());
            var size = image.GetProperty("size");
            Assert.Equal((size[0].GetInt32(), size[1].GetInt32()), TestImages.SizeOf(jpeg));
        }

        // The burst sent four contents over and over: each is stored once, however many uploads list it.
        Assert.Equal(listed.Select(image => image.GetProperty("size")[0].GetInt32()).Distinct().Count(), Directory.GetFiles(storage, "*.jpeg").Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(storage, Storage.ImageFiles.IncomingFolder)));
    }
}
