using StackExchange.Redis;

namespace Asgilook.Redis;

/// <summary>
/// Every key and channel Asgilook uses in Redis, under the tutorial's prefix <c>asgilook:</c>, so that
/// several applications can share one Redis and an operator can tell what belongs to whom.
/// </summary>
public static class RedisKeys
{
    public const string Prefix = "asgilook:";

    /// <summary>Uploads and deletes, told to the other instances.</summary>
    public static readonly RedisChannel Events = RedisChannel.Literal(Prefix + "events");

    /// <summary>How often <paramref name="cacheKey"/> (<c>asgilook:&lt;path&gt;</c>) was invalidated.</summary>
    public static string GenerationOf(string cacheKey) => Prefix + "generation:" + cacheKey[Prefix.Length..];

    /// <summary>A client's token bucket under a rate-limit policy (the client is a key id or an address, never a key).</summary>
    public static string RateLimitOf(string policy, string client) => $"{Prefix}ratelimit:{policy}:{client}";

    /// <summary>The newest images deleted (a sorted set scored by <see cref="DeletesSequence"/>): what every instance's memory tier must forget.</summary>
    public const string Deletes = Prefix + "deletes";

    /// <summary>How many images have been deleted, ever: the deletes log's point.</summary>
    public const string DeletesSequence = Prefix + "deletes-sequence";

    /// <summary>When each bucket of a policy is full again (a sorted set), so that full buckets are forgotten without an expiry.</summary>
    public static string RateLimitIndexOf(string policy) => $"{Prefix}ratelimit-index:{policy}";

    /// <summary>When each fill lock expires (a sorted set), so that a lock whose holder died is forgotten without an expiry.</summary>
    public const string LockIndex = Prefix + "lock-index";

    /// <summary>The tag generation an entry of a query was stored under.</summary>
    public static string StampOf(string cacheKey) => Prefix + "stamp:" + cacheKey[Prefix.Length..];

    /// <summary>The fill lock of <paramref name="cacheKey"/>: held by the one instance producing its entry.</summary>
    public static string LockOf(string cacheKey) => Prefix + "lock:" + cacheKey[Prefix.Length..];
}
