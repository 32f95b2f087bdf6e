namespace Asgilook.RateLimiting;

/// <summary>
/// A token bucket per client: <see cref="PerMinute"/> tokens at most (the burst), refilled at
/// <see cref="PerMinute"/> a minute; each request takes what it costs (one, or one per started megapixel
/// of its work, never more than the bucket holds). So N quick requests of cost one in a fresh budget of N
/// all pass, and the next waits for a token to come back.
/// </summary>
/// <param name="Name">The policy's name in the <c>RateLimit</c> headers and the Redis keys.</param>
public sealed record RateLimitPolicy(string Name, int PerMinute)
{
    public bool Enabled => PerMinute > 0;

    public double TokensPerSecond => PerMinute / 60.0;

    /// <summary>What work of <paramref name="pixels"/> costs: one token per started megapixel, at least one, at most a full bucket.</summary>
    public int CostOf(long pixels) => (int)Math.Clamp((pixels + 999_999) / 1_000_000, 1, Math.Max(1, PerMinute));
}

/// <summary>What taking tokens found.</summary>
/// <param name="Tokens">The tokens left after this request (fractions refill continuously).</param>
/// <param name="Cost">The tokens this request needed.</param>
public readonly record struct RateLimitDecision(bool Allowed, double Tokens, RateLimitPolicy Policy, int Cost = 1)
{
    /// <summary>Whole seconds until this request's tokens are back (what <c>Retry-After</c> says when refused).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling((Cost - Tokens) / Policy.TokensPerSecond));

    /// <summary>Whole seconds until the bucket is full again (the <c>t</c> of the <c>RateLimit</c> header).</summary>
    public int SecondsUntilFull => (int)Math.Ceiling((Policy.PerMinute - Tokens) / Policy.TokensPerSecond);

    /// <summary>Whole requests still allowed now.</summary>
    public int Remaining => (int)Math.Floor(Tokens);
}

/// <summary>Where the buckets live: Redis (shared by every instance) or this process.</summary>
public interface IRateLimitStore
{
    /// <summary>Takes <paramref name="cost"/> tokens from <paramref name="bucket"/> if it has them.</summary>
    Task<RateLimitDecision> TakeAsync(string bucket, RateLimitPolicy policy, int cost = 1);
}
