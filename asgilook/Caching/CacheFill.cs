using System.Collections.Concurrent;
using System.Diagnostics;
using Asgilook.Http;
using Asgilook.Operations;

namespace Asgilook.Caching;

/// <summary>
/// Produces a missing entry once: in this process, the first request for a key produces it and the others await
/// its entry; across the instances sharing the store, that request first takes the key's fill lock, and when another
/// instance holds it, waits for the entry that instance stores. A store that is unavailable coordinates nothing across
/// instances, and in this process requests still wait for each other. Renders use it: a read of a file never does.
/// </summary>
public sealed class CacheFill(ResponseCache cache, AsgilookMetrics metrics, TimeProvider clock)
{
    /// <summary>
    /// How long the lock holds unless renewed: a holder that dies delays others this long at most; a live holder
    /// renews it every half of it for as long as it produces.
    /// </summary>
    public static readonly TimeSpan LockExpiry = TimeSpan.FromSeconds(5);

    /// <summary>The longest a request waits for another instance's fill while its lock is renewed (a hung holder's bound).</summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(60);

    /// <summary>How often a request waiting for another instance's fill looks for the entry: soon at first, then less often.</summary>
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, Task<CachedResponse?>> _inFlight = new(StringComparer.Ordinal);
    private int _waiting;

    /// <summary>Requests in this process waiting for another's fill now, here or in another instance (tests await everyone waiting).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>The key's entry: produced by this request, or by another one (here or in another instance) that it waited for.</summary>
    /// <param name="produce">Produces the entry and stores it; null when there is none to keep (then a waiter goes ahead itself).</param>
    public async Task<FillResult> GetOrProduceAsync(
        HttpContext context, CacheKey key, CacheLookup lookup, Func<CacheLookup, Task<CachedResponse?>> produce)
    {
        var wait = new Wait(context, metrics, clock);
        while (true)
        {
            var mine = new TaskCompletionSource<CachedResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var flight = _inFlight.GetOrAdd(key.Entry, mine.Task);
            if (flight == mine.Task)
            {
                FillResult result = default;
                try
                {
                    result = await LeadAsync(key, lookup, produce, wait);
                    return result;
                }
                finally
                {
                    _inFlight.TryRemove(new KeyValuePair<string, Task<CachedResponse?>>(key.Entry, mine.Task));
                    mine.SetResult(result.Entry);
                }
            }

            Interlocked.Increment(ref _waiting);
            CachedResponse? filled;
            try
            {
                filled = await flight.WaitAsync(context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }

            if (filled is not null)
            {
                wait.Ended("filled");
                return new FillResult(filled, ProducedHere: false);
            }

            // Its producer kept nothing (an error, a refusal): the next waiter goes ahead.
            wait.TookOver = true;
        }
    }

    /// <summary>This process's one request for the key: it produces the entry unless another instance is.</summary>
    private async Task<FillResult> LeadAsync(CacheKey key, CacheLookup lookup, Func<CacheLookup, Task<CachedResponse?>> produce, Wait wait)
    {
        if (!lookup.Available)
        {
            return new FillResult(await produce(lookup), ProducedHere: true);
        }

        await using var fillLock = await cache.TryLockAsync(key);
        if (fillLock.State is not FillLockState.HeldElsewhere)
        {
            if (wait.TookOver)
            {
                wait.Ended("took over");
            }

            return new FillResult(await ProduceHoldingAsync(fillLock, () => produce(lookup)), ProducedHere: true);
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            return await WaitForOtherInstanceAsync(key, produce, wait);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>
    /// Polls for the entry another instance is producing. When that instance lets go without storing one, or its lock
    /// outlives <see cref="LockExpiry"/>, this request produces it.
    /// </summary>
    private async Task<FillResult> WaitForOtherInstanceAsync(CacheKey key, Func<CacheLookup, Task<CachedResponse?>> produce, Wait wait)
    {
        var pause = FirstPause;
        while (true)
        {
            await Task.Delay(pause, clock, wait.Aborted);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            if ((await cache.LookupAsync(key)).Hit is { } filled)
            {
                wait.Ended("filled");
                return new FillResult(filled, ProducedHere: false);
            }

            await using var fillLock = await cache.TryLockAsync(key);
            // A holder renews its lock while it works: one held elsewhere is a fill under way (a dead holder's lock
            // expires within LockExpiry). Past LongestWait, though, this request stops trusting it and produces.
            var expired = fillLock.State is FillLockState.HeldElsewhere && wait.Elapsed >= LongestWait;
            if (fillLock.State is FillLockState.HeldElsewhere && !expired)
            {
                continue;
            }

            // The holder may have stored its entry just before letting go.
            var last = await cache.LookupAsync(key);
            if (last.Hit is { } late)
            {
                wait.Ended("filled");
                return new FillResult(late, ProducedHere: false);
            }

            wait.Ended(expired ? "expired" : "took over");
            return new FillResult(await ProduceHoldingAsync(fillLock, () => produce(last)), ProducedHere: true);
        }
    }

    /// <summary>
    /// Produces while holding the lock, renewing it every half <see cref="LockExpiry"/> so that a fill slower than the
    /// expiry (a large render on a busy machine) is not taken for a dead one and produced again by another instance.
    /// </summary>
    private async Task<CachedResponse?> ProduceHoldingAsync(FillLock fillLock, Func<Task<CachedResponse?>> produce)
    {
        if (fillLock.State is not FillLockState.Taken)
        {
            return await produce();
        }

        using var producing = new CancellationTokenSource();
        var renewing = RenewUntilCancelledAsync(fillLock, producing.Token);
        try
        {
            return await produce();
        }
        finally
        {
            await producing.CancelAsync();
            await renewing;
        }
    }

    private async Task RenewUntilCancelledAsync(FillLock fillLock, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(LockExpiry / 2, clock, cancellationToken);
                if (!await fillLock.RenewAsync())
                {
                    return; // lost (or the store failed): the fill goes on, and others may produce too
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>How long a request waited for another's fill, and how that ended (a metric and a Server-Timing entry).</summary>
    private sealed class Wait(HttpContext context, AsgilookMetrics metrics, TimeProvider clock)
    {
        private readonly long _start = clock.GetTimestamp();

        public bool TookOver { get; set; }

        public TimeSpan Elapsed => clock.GetElapsedTime(_start);

        public CancellationToken Aborted => context.RequestAborted;

        public void Ended(string outcome)
        {
            metrics.FillWait(outcome);
            ServerTiming.Append(context.Response, "fill", Elapsed, outcome);
        }
    }
}

/// <summary>What <see cref="CacheFill.GetOrProduceAsync"/> came back with: the entry (null when none was produced), and who produced it.</summary>
/// <param name="ProducedHere">This request produced it; otherwise it waited for another's (a hit, as far as its client is concerned).</param>
public readonly record struct FillResult(CachedResponse? Entry, bool ProducedHere);
