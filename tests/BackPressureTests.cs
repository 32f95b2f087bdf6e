using System.Net;
using Asgilook.Imaging;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>Image work runs under a bound; past it the server answers 503 at once, and cache hits go on.</summary>
public sealed class BackPressureTests
{
    [Fact]
    public async Task PastTheBoundUploadsGet503WithRetryAfterWhileCacheHitsAreServed()
    {
        using var processor = new BlockingProcessor();
        await using var app = await TestApp.StartAsync(
            // The engine held at a gate is this process's: the conversions run here, not in workers.
            settings: new Dictionary<string, string?> { ["Asgilook:ImageWorkers"] = "1", ["Asgilook:ImageQueueLength"] = "1", ["Asgilook:UploadDecoding"] = "InProcess" },
            services: services => services.AddSingleton<IImageProcessor>(processor));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString();
        using (await app.Client.GetAsync(thumbnail)) { }

        processor.Hold();
        var running = app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        await Loopback.WaitUntilAsync(() => processor.Converting == 1, "the first upload did not reach the engine");
        var waiting = app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<ImageWork>().Conversions.Waiting == 1, "the second upload was not queued");

        using var refused = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        using var hit = await app.Client.GetAsync(thumbnail);
        processor.Release();
        using var first = await running;
        using var second = await waiting;

        var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("busy", problem.GetProperty("detail").GetString());
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal((HttpStatusCode.OK, "Hit"), (hit.StatusCode, hit.CacheOutcome()));
        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.StatusCode, second.StatusCode));
        Assert.Equal(3, app.StoredFiles().Length);
    }

    [Fact]
    public async Task QueueRunsAtMostItsWorkersAtOnce()
    {
        using var queue = new ImageWorkQueue("test", workers: 2, queueLength: 100);
        var running = 0;
        var most = 0;

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => queue.RunAsync(() =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            Thread.Sleep(10);
            Interlocked.Decrement(ref running);
            return now;
        }, CancellationToken.None))));

        Assert.Equal(2, most);
        Assert.Equal(0, queue.Waiting);
    }

    [Fact]
    public async Task QueueRefusesAtOncePastItsCapacity()
    {
        using var queue = new ImageWorkQueue("test", workers: 1, queueLength: 0);
        using var gate = new ManualResetEventSlim();
        var holding = Task.Run(() => queue.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None));
        await Loopback.WaitUntilAsync(() => queue.Waiting == 0 && !holding.IsCompleted, "the first work did not start");
        await Task.Delay(50);

        await Assert.ThrowsAsync<ServerBusyException>(() => queue.RunAsync(() => true, CancellationToken.None));

        gate.Set();
        Assert.True(await holding);
        Assert.True(await queue.RunAsync(() => true, CancellationToken.None));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
