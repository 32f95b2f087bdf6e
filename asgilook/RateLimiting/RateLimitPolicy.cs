namespace Asgilook.RateLimiting;

/// <summary>
/// A token bucket per client: <see cref="PerMinute"/> tokens at most (the burst), refilled at
/// <see cref="PerMinute"/> a minute; each request takes one. So N quick requests in a fresh budget of N
/// all pass, and the next waits for a token to come back.
/// </summary>
/// <param name="Name">The policy's name in the <c>RateLimit</c> headers and the Redis keys.</param>
public sealed record RateLimitPolicy(string Name, int PerMinute)
{
    public bool Enabled => PerMinute > 0;

    public double TokensPerSecond => PerMinute / 60.0;
}

/// <summary>What taking a token found.</summary>
/// <param name="Tokens">The tokens left after this request (fractions refill continuously).</param>
public readonly record struct RateLimitDecision(bool Allowed, double Tokens, RateLimitPolicy Policy)
{
    /// <summary>Whole seconds until one token is back (what <c>Retry-After</c> says when refused).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling((1 - Tokens) / Policy.TokensPerSecond));

    /// <summary>Whole seconds until the bucket is full again (the <c>t</c> of the <c>RateLimit</c> header).</summary>
    public int SecondsUntilFull => (int)Math.Ceiling((Policy.PerMinute - Tokens) / Policy.TokensPerSecond);

    /// <summary>Whole requests still allowed now.</summary>
    public int Remaining => (int)Math.Floor(Tokens);
}

/// <summary>Where the buckets live: Redis (shared by every instance) or this process.</summary>
public interface IRateLimitStore
{
    /// <summary>Takes a token from <paramref name="bucket"/> if it has one.</summary>
    Task<RateLimitDecision> TakeAsync(string bucket, RateLimitPolicy policy);
}
