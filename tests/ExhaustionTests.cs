using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Asgilook.Events;
using Asgilook.Images;
using Asgilook.Imaging;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// What a hostile internet sends to wear the service down, on real processes and real file systems:
/// trickled bodies, floods of uploads, a full disk, piles of event streams.
/// </summary>
public sealed class ExhaustionTests
{
    private static readonly Dictionary<string, string?> NoRateLimits = new()
    {
        ["Asgilook__RateLimits__UploadsPerMinute"] = "0",
        ["Asgilook__RateLimits__RendersPerMinute"] = "0",
    };

    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task TwoHundredTrickledUploadsNeitherPinMemoryNorStopANormalClient()
    {
        using var storage = new TemporaryFolder("asgilook-slow-");
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>(NoRateLimits)
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["Asgilook__UploadBufferMegabytes"] = "64",
        });
        var baseline = server.PeakRssMegabytes();

        // Each announces 30 MB, sends 1 KiB and then a few bytes a second: with a body read into an array of
        // the announced size they would have pinned 6 GB; with the old 240 B/s minimum they could stay for hours.
        // Twenty clients (addresses) of ten each: within what one client may have arriving at once.
        var slow = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => TrickleAsync(server.Port, $"127.0.0.{10 + (i % 20)}")));
        var uploaded = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(1280, 720)));
            uploaded.Add(response.StatusCode);
        }

        Assert.All(uploaded, status => Assert.Equal(HttpStatusCode.Created, status));
        var peak = server.PeakRssMegabytes();
        Assert.True(peak < baseline + 150, $"peak RSS grew from {baseline} to {peak} MiB while 200 uploads trickled");

        // Slower than MinUploadBytesPerSecond (8 KiB/s) past the grace period: each is cut off.
        await Loopback.WaitUntilAsync(() => slow.All(client => client.Closed), "trickled uploads were not cut off", timeoutSeconds: 30);
        Assert.Equal(5, (await server.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
        foreach (var client in slow)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task UploadsBeyondTheBufferBudgetAre503AndTheBudgetIsGivenBack()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:UploadBufferMegabytes"] = "1" });
        var large = TestImages.Noise(1000, 800);
        Assert.True(large.Length > 1024 * 1024, "the test image must be larger than the budget");

        using var refused = await app.Client.PostAsync("/images", new ByteArrayContent(large));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("uploads", problem.GetProperty("detail").GetString());
        Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter?.Delta);

        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        Assert.Equal(0, app.Services.GetRequiredService<UploadBudget>().InUse);
        Assert.Single(app.StoredFiles());
    }

    [Fact]
    public async Task AFloodOfUploadsLeavesThumbnailsRendering()
    {
        using var processor = new BlockingProcessor();
        await using var app = await TestApp.StartAsync(
            settings: new Dictionary<string, string?>
            {
                ["Asgilook:ImageWorkers"] = "1", ["Asgilook:ImageQueueLength"] = "1", ["Asgilook:RateLimits:UploadsPerMinute"] = "0",
                ["Asgilook:UploadDecoding"] = "InProcess", // the engine held at a gate is this process's
            },
            services: services => services.AddSingleton<IImageProcessor>(processor));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(1280, 720));

        processor.Hold(); // every conversion now holds its worker, as large uploads would
        var flood = Enumerable.Range(0, 6).Select(_ => app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()))).ToList();
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<ImageWork>().Conversions.Waiting == 1, "the conversions' queue did not fill");
        var renders = new List<HttpResponseMessage>();
        foreach (var uri in posted.GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!))
        {
            renders.Add(await app.Client.GetAsync(uri));
        }

        processor.Release();
        var uploads = await Task.WhenAll(flood);
        Assert.All(renders, render => Assert.Equal((HttpStatusCode.OK, "Miss"), (render.StatusCode, render.CacheOutcome())));
        Assert.Contains(uploads, upload => upload.StatusCode == HttpStatusCode.ServiceUnavailable);
        Assert.Equal(2, uploads.Count(upload => upload.StatusCode == HttpStatusCode.Created));
        foreach (var response in renders.Concat(uploads))
        {
            response.Dispose();
        }
    }

    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task BelowTheFreeSpaceFloorUploadsAre507BeforeDecodingAndAFullDiskLosesNothing()
    {
        using var storage = new TemporaryFolder("asgilook-full-");
        await using var server = await StartOnASmallFileSystemAsync(storage.Path, megabytes: 48, minFreeMegabytes: 24);
        var filler = server.SeenByServer(Path.Combine(storage.Path, "filler"));
        var photo = TestImages.Noise(1600, 1200);

        await File.WriteAllBytesAsync(filler, new byte[30 * 1024 * 1024]); // 18 MiB left, under the 24 MiB floor
        using (var floor = await server.Client.PostAsync("/images", new ByteArrayContent(photo)))
        {
            var problem = await floor.AssertProblemAsync(HttpStatusCode.InsufficientStorage);
            Assert.Contains("no room", problem.GetProperty("detail").GetString());
        }

        Assert.DoesNotContain("asgilook_upload_conversion_duration_seconds_count", await server.Client.GetStringAsync("/metrics"));

        await using var floorless = await StartOnASmallFileSystemAsync(storage.Path, megabytes: 8, minFreeMegabytes: 0);
        var full = floorless.SeenByServer(Path.Combine(storage.Path, "filler"));
        await FillAsync(full, leaveBytes: 64 * 1024);
        using (var noSpace = await floorless.Client.PostAsync("/images", new ByteArrayContent(photo)))
        {
            await noSpace.AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        }

        var seen = floorless.SeenByServer(storage.Path);
        Assert.Empty(Directory.GetFiles(seen, "*.jpeg"));
        Assert.Empty(Directory.GetFiles(Path.Combine(seen, Storage.ImageFiles.IncomingFolder)));
        Assert.Equal("[]", await floorless.Client.GetStringAsync("/images"));

        File.Delete(full); // room again: the next upload is stored
        using var stored = await floorless.Client.PostAsync("/images", new ByteArrayContent(photo));
        Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
    }

    [Fact]
    public async Task EventStreamsAreCappedInAllAndPerClientAndIdleOnesArePinged()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:MaxEventListeners"] = "3",
            ["Asgilook:MaxEventListenersPerClient"] = "2",
            ["Asgilook:EventsKeepAlive"] = "00:00:00.200",
        });
        var events = app.Services.GetRequiredService<ImageEvents>();
        using var first = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var second = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);

        using var third = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        await third.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        using var reader = new StreamReader(await first.Content.ReadAsStreamAsync());
        Assert.Equal(": listening", await reader.ReadLineAsync());
        Assert.Equal(string.Empty, await reader.ReadLineAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal(": ping", await reader.ReadLineAsync(timeout.Token)); // nothing happened: the stream is pinged

        var before = events.FramesSerialised;
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        Assert.Equal(before + 1, events.FramesSerialised); // one upload, two streams, one serialisation
        Assert.Equal(2, events.Listeners);
    }

    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task PastTheInstancesCapAStreamIs503()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:MaxEventListeners"] = "1",
            ["Asgilook:MaxEventListenersPerClient"] = "5",
        });
        using var open = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);

        using var refused = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);

        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        open.Dispose();
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<ImageEvents>().Listeners == 0, "the closed stream was not let go");
        using var again = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    /// <summary>A server whose storage folder is a small file system of its own (a mount namespace of its own: nothing to clean up).</summary>
    private static Task<ServerProcess> StartOnASmallFileSystemAsync(string storage, int megabytes, int minFreeMegabytes)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Asgilook.dll");
        return ServerProcess.StartAsync(
            new Dictionary<string, string?>(NoRateLimits)
            {
                ["ASGI_LOOK_STORAGE_PATH"] = storage,
                ["Asgilook__MinFreeDiskMegabytes"] = minFreeMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            AppContext.BaseDirectory,
            ["-m", "bash", "-c", $"mount -t tmpfs -o size={megabytes}m tmpfs '{storage}' && exec dotnet '{dll}' \"$@\"", "bash"],
            executable: "unshare");
    }

    private static async Task FillAsync(string path, long leaveBytes)
    {
        await using var file = new FileStream(path, FileMode.Create);
        var chunk = new byte[64 * 1024];
        try
        {
            while (true)
            {
                await file.WriteAsync(chunk);
            }
        }
        catch (IOException)
        {
            // full
        }

        file.SetLength(Math.Max(0, file.Length - leaveBytes));
    }

    /// <summary>A client that announces a large upload and then sends a few bytes a second, until the server cuts it off.</summary>
    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task OneClientsParkedBodiesFillOnlyItsOwnShare()
    {
        using var storage = new TemporaryFolder("asgilook-parked-");
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>(NoRateLimits)
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["Asgilook__UploadBufferMegabytes"] = "64",
        });

        // One address parks 40 bodies: past the 16 one client may have arriving, each is refused at once.
        var parked = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => TrickleAsync(server.Port, "127.0.0.77")));
        bool Refused(Trickle client) => client.Answer.StartsWith("HTTP/1.1 429", StringComparison.Ordinal);
        await Loopback.WaitUntilAsync(() => parked.Count(Refused) >= 24, "the bodies past the client's share were not refused");
        Assert.Equal(24, parked.Count(Refused));
        Assert.All(parked.Where(Refused), client => Assert.Contains("Too many uploads at once", client.Answer));

        // Everyone else uploads as usual meanwhile.
        using var response = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(1280, 720)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        foreach (var client in parked)
        {
            client.Dispose();
        }
    }

    private static async Task<Trickle> TrickleAsync(int port, string from)
    {
        var client = new TcpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(from), 0));
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 30000000\r\n\r\n"));
        await stream.WriteAsync(new byte[1024]);
        var trickle = new Trickle(client);
        trickle.Start();
        return trickle;
    }

    private sealed class Trickle(TcpClient client) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly MemoryStream _answer = new();
        private volatile bool _closed;

        public bool Closed => _closed;

        /// <summary>What the server answered before it closed the connection.</summary>
        public string Answer
        {
            get
            {
                lock (_answer)
                {
                    return Encoding.UTF8.GetString(_answer.ToArray());
                }
            }
        }

        public void Start()
        {
            var stream = client.GetStream();
            _ = Task.Run(async () =>
            {
                try
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        await stream.WriteAsync(new byte[8], _stop.Token);
                        await Task.Delay(1000, _stop.Token);
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                }
            });
            _ = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                try
                {
                    int read;
                    while ((read = await stream.ReadAsync(buffer, _stop.Token)) > 0)
                    {
                        lock (_answer)
                        {
                            _answer.Write(buffer, 0, read);
                        }
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                }

                _closed = true; // the server answered and closed, or reset the connection
            });
        }

        public void Dispose()
        {
            _stop.Cancel();
            client.Dispose();
            _stop.Dispose();
        }
    }
}
