using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Asgilook.Operations;

namespace Asgilook.Caching;

/// <summary>
/// Produces a missing entry once (for routes marked <see cref="FillOnce"/>): in this process, the first
/// request for a key produces it and the others await its answer; across the instances sharing the
/// store, that request first takes the key's fill lock, and when another instance holds it, waits for
/// the entry that instance stores. A store that is unavailable coordinates nothing across instances,
/// and in this process requests still wait for each other.
/// </summary>
public sealed class CacheFill(ResponseCache cache, AsgilookMetrics metrics)
{
    /// <summary>How often a request waiting for another instance's fill looks for the entry: soon at first, then less often.</summary>
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, Task<CachedResponse?>> _inFlight = new(StringComparer.Ordinal);

    /// <param name="produce">Produces this request's answer, stores it, and returns it as an entry (null when it is not one to keep).</param>
    /// <param name="serve">Answers this request with an entry another request produced.</param>
    public async Task RunAsync(
        HttpContext context, CacheKey key, CacheLookup lookup, Func<CacheLookup, Task<CachedResponse?>> produce, Func<CachedResponse, Task> serve)
    {
        var wait = new Wait(context, metrics);
        while (true)
        {
            var mine = new TaskCompletionSource<CachedResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var flight = _inFlight.GetOrAdd(key.Entry, mine.Task);
            if (flight == mine.Task)
            {
                CachedResponse? entry = null;
                try
                {
                    entry = await LeadAsync(key, lookup, produce, serve, wait);
                }
                finally
                {
                    _inFlight.TryRemove(new KeyValuePair<string, Task<CachedResponse?>>(key.Entry, mine.Task));
                    mine.SetResult(entry);
                }

                return;
            }

            if (await flight.WaitAsync(context.RequestAborted) is { } filled)
            {
                wait.Ended("filled");
                await serve(filled);
                return;
            }

            // Its producer kept nothing (an error, an answer too big to cache): the next waiter goes ahead.
            wait.TookOver = true;
        }
    }

    /// <summary>This process's one request for the key: it produces the entry unless another instance is.</summary>
    private async Task<CachedResponse?> LeadAsync(
        CacheKey key, CacheLookup lookup, Func<CacheLookup, Task<CachedResponse?>> produce, Func<CachedResponse, Task> serve, Wait wait)
    {
        if (!lookup.Available)
        {
            return await produce(lookup);
        }

        await using var fillLock = await cache.TryLockAsync(key);
        if (fillLock.State is not FillLockState.HeldElsewhere)
        {
            if (wait.TookOver)
            {
                wait.Ended("took over");
            }

            return await produce(lookup);
        }

        return await WaitForOtherInstanceAsync(key, produce, serve, wait);
    }

    /// <summary>
    /// Polls for the entry another instance is producing and serves it as a hit. When that instance lets go
    /// without storing one, or its lock outlives <see cref="FillOnce.LockExpiry"/>, this request produces it.
    /// </summary>
    private async Task<CachedResponse?> WaitForOtherInstanceAsync(
        CacheKey key, Func<CacheLookup, Task<CachedResponse?>> produce, Func<CachedResponse, Task> serve, Wait wait)
    {
        var pause = FirstPause;
        while (true)
        {
            await Task.Delay(pause, wait.Aborted);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            if ((await cache.LookupAsync(key)).Hit is { } filled)
            {
                return await ServeAsync(filled);
            }

            await using var fillLock = await cache.TryLockAsync(key);
            var expired = fillLock.State is FillLockState.HeldElsewhere && wait.Elapsed >= FillOnce.LockExpiry;
            if (fillLock.State is FillLockState.HeldElsewhere && !expired)
            {
                continue;
            }

            // The holder may have stored its entry just before letting go.
            var last = await cache.LookupAsync(key);
            if (last.Hit is { } late)
            {
                return await ServeAsync(late);
            }

            wait.Ended(expired ? "expired" : "took over");
            return await produce(last);
        }

        async Task<CachedResponse> ServeAsync(CachedResponse filled)
        {
            wait.Ended("filled");
            await serve(filled);
            return filled;
        }
    }

    /// <summary>How long a request waited for another's fill, and how that ended (a metric and a Server-Timing entry).</summary>
    private sealed class Wait(HttpContext context, AsgilookMetrics metrics)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public bool TookOver { get; set; }

        public TimeSpan Elapsed => _clock.Elapsed;

        public CancellationToken Aborted => context.RequestAborted;

        public void Ended(string outcome)
        {
            metrics.FillWait(outcome);
            context.Response.Headers.Append("Server-Timing",
                $"fill;desc=\"{outcome}\";dur={_clock.Elapsed.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        }
    }
}
