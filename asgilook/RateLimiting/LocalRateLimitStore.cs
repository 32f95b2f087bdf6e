using System.Collections.Concurrent;

namespace Asgilook.RateLimiting;

/// <summary>
/// The buckets in this process: used without Redis, and while Redis does not answer. A bucket that has
/// refilled completely is forgotten (a new one starts full too), so memory follows active clients only.
/// </summary>
public sealed class LocalRateLimitStore(TimeProvider clock) : IRateLimitStore
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private long _nextSweep;

    /// <summary>How many buckets are remembered.</summary>
    public int Count => _buckets.Count;

    public Task<RateLimitDecision> TakeAsync(string bucket, RateLimitPolicy policy, int cost = 1)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        SweepIfDue(now);
        // One bucket per policy and client: the uploads a client made say nothing of the renders it may have.
        var state = _buckets.GetOrAdd($"{policy.Name}:{bucket}", _ => new Bucket(policy.PerMinute, now));
        lock (state)
        {
            state.Refill(policy, now);
            var allowed = state.Tokens >= cost;
            if (allowed)
            {
                state.Tokens -= cost;
            }

            return Task.FromResult(new RateLimitDecision(allowed, state.Tokens, policy, cost));
        }
    }

    private void SweepIfDue(long now)
    {
        var due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + (long)SweepEvery.TotalMilliseconds, due) != due)
        {
            return;
        }

        foreach (var (key, state) in _buckets)
        {
            lock (state)
            {
                if (state.FullAt <= now)
                {
                    _buckets.TryRemove(new KeyValuePair<string, Bucket>(key, state));
                }
            }
        }
    }

    private sealed class Bucket(double tokens, long at)
    {
        public double Tokens { get; set; } = tokens;

        public long FullAt { get; private set; } = at;

        private long _at = at;

        public void Refill(RateLimitPolicy policy, long now)
        {
            Tokens = Math.Min(policy.PerMinute, Tokens + Math.Max(0, now - _at) * policy.TokensPerSecond / 1000);
            _at = now;
            FullAt = now + (long)Math.Ceiling((policy.PerMinute - Tokens + 1) / policy.TokensPerSecond * 1000);
        }
    }
}
