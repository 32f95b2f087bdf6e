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

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => queue.RunAsync(Ticket("a"), () =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            Thread.Sleep(10); // the work itself: long enough for the others to try to run beside it
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
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = Task.Run(() => queue.RunAsync(Ticket("a"), () =>
        {
            started.SetResult();
            return gate.Wait(TimeSpan.FromSeconds(30));
        }, CancellationToken.None));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));

        await Assert.ThrowsAsync<ServerBusyException>(() => queue.RunAsync(Ticket("b"), () => true, CancellationToken.None));

        gate.Set();
        Assert.True(await holding);
        Assert.True(await queue.RunAsync(Ticket("b"), () => true, CancellationToken.None));
    }

    [Fact]
    public async Task TheNextJobIsTakenRoundRobinAcrossClientsSoAFloodWaitsBehindItself()
    {
        using var queue = new ImageWorkQueue("test", workers: 1, queueLength: 100);
        using var gate = new ManualResetEventSlim();
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task Job(string client, string name) => queue.RunAsync(Ticket(client), () =>
        {
            gate.Wait(TimeSpan.FromSeconds(30));
            order.Enqueue(name);
            return true;
        }, CancellationToken.None);

        var flood = Enumerable.Range(1, 6).Select(i => Job("attacker", $"a{i}")).ToList();
        await Loopback.WaitUntilAsync(() => queue.Waiting == 5, "the flood was not queued");
        var victim = Job("victim", "v1");
        gate.Set();
        await Task.WhenAll([.. flood, victim]);

        // a1 was running and a2 was first in turn when the victim came: it goes next, before the other four.
        Assert.Equal(["a1", "a2", "v1", "a3", "a4", "a5", "a6"], order.ToArray());
    }

    [Fact]
    public async Task LargeJobsNeverHoldEveryWorkerSoSmallOnesAlwaysHaveOne()
    {
        var shares = new WorkShares(QueuedPixels: long.MaxValue, JobsPerClient: 100, PixelsPerClient: long.MaxValue, LargeJobPixels: 1000);
        using var queue = new ImageWorkQueue("test", workers: 2, queueLength: 100, shares);
        using var gate = new ManualResetEventSlim();
        var running = 0;
        Task<bool> Job(string client, long pixels) => queue.RunAsync(Ticket(client, pixels), () =>
        {
            Interlocked.Increment(ref running);
            return gate.Wait(TimeSpan.FromSeconds(30));
        }, CancellationToken.None);

        var large = Enumerable.Range(0, 3).Select(_ => Job("attacker", 5000)).ToList();
        await Loopback.WaitUntilAsync(() => Volatile.Read(ref running) == 1 && queue.Waiting == 2, "the large jobs were not queued");
        var small = Job("victim", 10);
        await Loopback.WaitUntilAsync(() => Volatile.Read(ref running) == 2, "the small job did not get the worker the large ones left");
        Assert.False(small.IsCompleted);
        gate.Set();
        Assert.All(await Task.WhenAll([.. large, small]), Assert.True);
    }

    [Fact]
    public async Task AClientPastItsShareIsRefusedWhileOthersAreAdmitted()
    {
        var shares = new WorkShares(QueuedPixels: 12_000, JobsPerClient: 3, PixelsPerClient: 2_500, LargeJobPixels: long.MaxValue);
        using var queue = new ImageWorkQueue("test", workers: 1, queueLength: 100, shares);
        using var gate = new ManualResetEventSlim();
        Task<bool> Job(string client, long pixels) => queue.RunAsync(Ticket(client, pixels), () => gate.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);

        var admitted = new List<Task<bool>> { Job("a", 1000), Job("a", 1000) };
        await Assert.ThrowsAsync<ClientBusyException>(() => Job("a", 1000)); // 3000 pixels: past its 2500
        admitted.Add(Job("a", 100));
        await Assert.ThrowsAsync<ClientBusyException>(() => Job("a", 1)); // its fourth job
        admitted.Add(Job("b", 9000)); // a client's first job is always admitted, whatever its size...
        await Assert.ThrowsAsync<ServerBusyException>(() => Job("c", 1000)); // ...but not past the whole queue's pixels
        gate.Set();
        Assert.All(await Task.WhenAll(admitted), Assert.True);
        Assert.True(await Job("a", 2500)); // what was done is given back
    }

    private static WorkTicket Ticket(string client, long pixels = 1) => new(client, pixels);

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
