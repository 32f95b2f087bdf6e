using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>
/// No upload can take the server down (issue 20): untrusted bytes are decoded in conversion workers that the
/// server watches, kills past their memory ceiling or deadline, and replaces. Each attack of the security review
/// runs against the real server started as a process; what the server holds is read from its own <c>/proc</c>.
/// </summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class ContainedDecodingTests
{
    /// <summary>How much the server's own peak memory may move during an attack: it decodes none of it.</summary>
    private const long ServerGrowthMegabytes = 50;

    private static readonly Dictionary<string, string?> NoRateLimits = new()
    {
        ["Asgilook__RateLimits__UploadsPerMinute"] = "0",
        ["Asgilook__RateLimits__UploadMegapixelsPerMinute"] = "0",
        ["Asgilook__RateLimits__RendersPerMinute"] = "0",
    };

    [Fact]
    public async Task AnSvgWithAnEmbeddedPictureIsRefusedBeforeAnyDecoderAndTheServerDoesNotGrow()
    {
        using var storage = new TemporaryFolder("asgilook-svg-bomb-");
        await using var server = await StartAsync(storage);
        var baseline = await WarmAsync(server);

        using var refused = await server.Client.PostAsync("/images", new ByteArrayContent(CraftedImages.SvgWithEmbeddedPicture(8000)));

        var problem = await refused.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("embeds a picture", problem.GetProperty("detail").GetString());
        AssertServerDidNotGrow(server, baseline);
        Assert.Single(storage.Images());
    }

    [Fact]
    public async Task AnSvgThatRendersPastTheWorkersCeilingIs413AndOnlyTheWorkerPaysForIt()
    {
        using var storage = new TemporaryFolder("asgilook-svg-filter-");
        await using var server = await StartAsync(storage);
        var baseline = await WarmAsync(server);

        // Within the policy (shapes, a filter of its own) and the decode budget by its size: only the worker's ceiling holds it.
        using var refused = await server.Client.PostAsync("/images", new ByteArrayContent(CraftedImages.SvgFilterBomb(9000)));

        var problem = await refused.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("768 MiB a conversion worker may have (SandboxMemoryMegabytes)", problem.GetProperty("detail").GetString());
        AssertServerDidNotGrow(server, baseline);
        Assert.Equal(1, await server.MetricAsync("asgilook_sandbox_workers_ended_total", "reason=\"memory\""));
        await AssertUploadsStillWorkAsync(server, storage, expected: 2);
    }

    [Fact]
    public async Task AJpeg2000WhoseDecoderNeedsMoreThanTheBudgetSaysIs413AndTheServerDoesNotGrow()
    {
        using var storage = new TemporaryFolder("asgilook-jp2-");
        await using var server = await StartAsync(storage);
        var baseline = await WarmAsync(server);

        using var refused = await server.Client.PostAsync("/images", new ByteArrayContent(CraftedImages.FlatJpeg2000));

        await refused.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        AssertServerDidNotGrow(server, baseline);
        await AssertUploadsStillWorkAsync(server, storage, expected: 2);
    }

    [Fact]
    public async Task FourTinyBmpsWithAHugePixelOffsetAre400AndTheServerDoesNotGrow()
    {
        using var storage = new TemporaryFolder("asgilook-bmp-");
        await using var server = await StartAsync(storage);
        var baseline = await WarmAsync(server);

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            server.Client.PostAsync("/images", new ByteArrayContent(CraftedImages.BmpWithAHugePixelOffset()))));

        foreach (var answer in answers)
        {
            var problem = await answer.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("The BMP is corrupt", problem.GetProperty("detail").GetString());
            answer.Dispose();
        }

        AssertServerDidNotGrow(server, baseline);
        Assert.Single(storage.Images());
    }

    [Fact]
    public async Task ADecodeThatRunsPastTheDeadlineIs422AndItsWorkerIsReplaced()
    {
        using var storage = new TemporaryFolder("asgilook-deadline-");
        await using var server = await StartAsync(storage, new()
        {
            ["Asgilook__ImageWorkTimeout"] = "00:00:01",
            // Room enough that only the deadline stops it: librsvg renders in one call that libvips cannot interrupt.
            ["Asgilook__SandboxMemoryMegabytes"] = "4096",
        });
        var baseline = await WarmAsync(server);

        using var refused = await server.Client.PostAsync("/images", new ByteArrayContent(CraftedImages.SvgFilterBomb(9000)));

        var problem = await refused.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("ImageWorkTimeout", problem.GetProperty("detail").GetString());
        Assert.Equal(1, await server.MetricAsync("asgilook_sandbox_workers_ended_total", "reason=\"time\""));
        AssertServerDidNotGrow(server, baseline);
        await AssertUploadsStillWorkAsync(server, storage, expected: 2);
    }

    [Fact]
    public async Task AWorkerThatDiesIdleOrMidUploadIsReplacedAndNothingHalfWrittenIsKept()
    {
        using var storage = new TemporaryFolder("asgilook-died-");
        await using var server = await StartAsync(storage, new() { ["Asgilook__ImageWorkers"] = "1" });
        await WarmAsync(server);

        // Killed while idle (the kernel's out-of-memory killer, an operator): the next upload goes to a fresh one.
        Kill(Assert.Single(server.ChildPids()));
        using (var next = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(320, 200))))
        {
            Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        }

        // Killed mid-upload, as a decoder's crash would end it.
        var worker = Assert.Single(server.ChildPids());
        var slow = server.Client.PostAsync("/images", new ByteArrayContent(CraftedImages.SvgFilterBomb(4000)));
        await Loopback.WaitUntilAsync(() => ServerProcess.StatusKilobytes(worker, "VmRSS:") > 200 * 1024, "the worker did not start decoding");
        Kill(worker);
        using var crashed = await slow;
        var problem = await crashed.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("The decoder failed on this image", problem.GetProperty("detail").GetString());
        await AssertUploadsStillWorkAsync(server, storage, expected: 3);
    }

    [Fact]
    public async Task AWorkerHoldsNoneOfTheServersSecretsAndLivesUnderTheKernelsLimits()
    {
        using var storage = new TemporaryFolder("asgilook-worker-env-");
        await using var server = await StartAsync(storage, new()
        {
            ["ASGI_LOOK_ADMIN_KEYS"] = Secrets.AdminKey,
            ["ASGI_LOOK_UPLOAD_KEYS"] = Secrets.UploadKey,
            ["ASGI_LOOK_DATABASE"] = null,
        });
        using (var upload = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(TestImages.RandomEllipses()) })
        {
            upload.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Secrets.UploadKey);
            using var posted = await server.Client.SendAsync(upload);
            Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        }

        var worker = Assert.Single(server.ChildPids());
        var environment = await File.ReadAllTextAsync($"/proc/{worker}/environ");
        Assert.DoesNotContain(Secrets.AdminKey, environment);
        Assert.DoesNotContain(Secrets.UploadKey, environment);
        Assert.DoesNotContain("ASGI_LOOK", environment);
        Assert.DoesNotContain("ASGI_LOOK", await File.ReadAllTextAsync($"/proc/{worker}/cmdline"));
        Assert.Equal("1000", (await File.ReadAllTextAsync($"/proc/{worker}/oom_score_adj")).Trim());
        var limits = await File.ReadAllLinesAsync($"/proc/{worker}/limits");
        Assert.Matches(@"^Max data size\s+3221225472\s+3221225472\s+bytes", limits.Single(line => line.StartsWith("Max data size", StringComparison.Ordinal)));
        Assert.Matches(@"^Max core file size\s+0\s+0", limits.Single(line => line.StartsWith("Max core file size", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AFloodOfHugeUploadsFromOneClientLeavesAWellBehavedClientAWorker()
    {
        using var storage = new TemporaryFolder("asgilook-fair-");
        await using var server = await StartAsync(storage, new() { ["Asgilook__ImageWorkers"] = "2" });
        await WarmAsync(server);
        using var attacker = Loopback.ClientFrom("127.0.0.2", server.Port);
        using var victim = Loopback.ClientFrom("127.0.0.3", server.Port);
        var huge = TestImages.Flat(10_000, 10_000); // 100 MP, about 100 KB to send

        var finished = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var flood = Enumerable.Range(0, 6).Select(async i =>
        {
            using var answer = await attacker.PostAsync("/images", new ByteArrayContent(huge));
            finished.Enqueue($"attacker {answer.StatusCode}");
            return answer.StatusCode;
        }).ToList();
        await Loopback.WaitUntilAsync(async () => await server.MetricAsync("asgilook_image_work_waiting", "queue=\"conversion\"") >= 1, "the flood was not queued");

        for (var i = 0; i < 3; i++)
        {
            using var answer = await victim.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(1280, 720)));
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
            finished.Enqueue("victim");
        }

        var statuses = await Task.WhenAll(flood);
        // The huge ones hold one worker at most: the victim's three uploads went through the other while the flood waited.
        var order = finished.ToArray();
        Assert.True(Array.LastIndexOf(order, "victim") < Array.LastIndexOf(order, "attacker Created"),
            $"the victim waited behind the flood: {string.Join(", ", order)}");
        // And the flood was cut to the attacker's share (200 megapixels admitted at once): the rest refused at once.
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        // The flood's copies that were taken are one content, stored once; beside it the warm-up's and the victim's.
        Assert.Equal((statuses.Contains(HttpStatusCode.Created) ? 1 : 0) + 4, storage.Images().Length);
    }

    [Fact]
    public async Task AKeptRenderIsStreamedFromItsFileAndNeverReadWholeToAnswerAMiss()
    {
        using var storage = new TemporaryFolder("asgilook-large-render-");
        var settings = new Dictionary<string, string?>
        {
            ["Asgilook__MaxUploadBytes"] = "268435456", ["Asgilook__UploadBufferMegabytes"] = "512", ["Asgilook__UploadBufferMegabytesPerClient"] = "512",
        };
        string uri;
        await using (var first = await StartAsync(storage, settings))
        {
            // 7000x5000 of noise, each pixel doubled (the review's M5 file): its largest listed thumbnail (3500x2500, under
            // MaxThumbnailPixels) halves it back to pure noise, a JPEG of megabytes.
            using (var noise = NetVips.Image.Gaussnoise(3500, 2500, mean: 128, sigma: 80))
            using (var bands = noise.Bandjoin(NetVips.Image.Gaussnoise(3500, 2500, mean: 128, sigma: 80), NetVips.Image.Gaussnoise(3500, 2500, mean: 128, sigma: 80)))
            using (var bytes = bands.Cast(NetVips.Enums.BandFormat.Uchar))
            using (var doubled = bytes.Zoom(2, 2))
            {
                await first.Client.PostImageAsync(doubled.JpegsaveBuffer(q: 90));
            }

            var id = Path.GetFileNameWithoutExtension(Assert.Single(storage.Images()));
            uri = $"/thumbnails/{id}/3500x2500.jpeg";
            using var rendered = await first.Client.GetAsync(uri);
            Assert.True(rendered.Content.Headers.ContentLength > 4_000_000, $"{rendered.Content.Headers.ContentLength} bytes");
        }

        // Restarted: the cache is empty, and HEAD misses are never stored, so each is answered from the kept render.
        await using var server = await StartAsync(storage, settings);
        var before = ReadBytes(server.Pid);
        for (var i = 0; i < 20; i++)
        {
            using var head = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri));
            Assert.Equal((HttpStatusCode.OK, "Miss"), (head.StatusCode, head.CacheOutcome()));
            Assert.True(head.Content.Headers.ContentLength > 4_000_000);
        }

        // A few small reads each (the kept file still looks whole), where each used to read the whole file and walk every byte.
        var read = ReadBytes(server.Pid) - before;
        Assert.True(read < 1024 * 1024, $"20 HEADs read {read:N0} bytes");
        Assert.Equal(0, await server.MetricAsync("asgilook_thumbnails_rendered_total"));
    }

    /// <summary>The bytes a process has read through read calls (rchar in /proc/PID/io).</summary>
    private static long ReadBytes(int pid) => long.Parse(
        File.ReadAllLines($"/proc/{pid}/io").Single(line => line.StartsWith("rchar:", StringComparison.Ordinal))[6..].Trim(),
        System.Globalization.CultureInfo.InvariantCulture);

    private static Task<ServerProcess> StartAsync(TemporaryFolder storage, Dictionary<string, string?>? settings = null)
    {
        var environment = new Dictionary<string, string?>(NoRateLimits) { ["ASGI_LOOK_STORAGE_PATH"] = storage.Path };
        foreach (var (name, value) in settings ?? [])
        {
            environment[name] = value;
        }

        return ServerProcess.StartAsync(environment);
    }

    /// <summary>One ordinary upload (the server's code is loaded, a worker started), then the server's peak is reset: the baseline.</summary>
    private static async Task<long> WarmAsync(ServerProcess server)
    {
        await server.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        server.ResetPeakRss();
        return server.PeakRssMegabytes();
    }

    private static void AssertServerDidNotGrow(ServerProcess server, long baseline)
    {
        var peak = server.PeakRssMegabytes();
        Assert.True(peak - baseline < ServerGrowthMegabytes, $"the server's peak RSS went from {baseline} to {peak} MiB");
    }

    private static async Task AssertUploadsStillWorkAsync(ServerProcess server, TemporaryFolder storage, int expected)
    {
        await server.Client.PostImageAsync(TestImages.RandomEllipses(320, 200));
        Assert.Equal(expected, storage.Images().Length);
        Assert.Equal(expected, (await server.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    private static void Kill(int pid)
    {
        using var process = System.Diagnostics.Process.GetProcessById(pid);
        process.Kill();
        process.WaitForExit();
    }
}
