using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in Redis, shared by every instance pointed at the same server. A key's
/// generation lives beside it as <c>asgilook:generation:&lt;path&gt;</c> and its fill lock as
/// <c>asgilook:lock:&lt;path&gt;</c>; the compare-and-set, the invalidation and the lock's release are
/// Lua scripts, so they are atomic across instances.
/// </summary>
public sealed class RedisCacheStore(RedisConnection redis) : ICacheStore
{
    /// <summary>How long a generation is remembered: far longer than any answer takes to compute.</summary>
    public static readonly TimeSpan GenerationLifetime = TimeSpan.FromHours(2);

    private const string SetIfCurrent = """
        if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    private const string DeleteAndBump = """
        redis.call('DEL', KEYS[1])
        redis.call('INCR', KEYS[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[1])
        return 1
        """;

    private const string DeleteIfOwned = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    public string Description => redis.Description;

    public static string GenerationKeyOf(string key) => ResponseCache.Prefix + "generation:" + key[ResponseCache.Prefix.Length..];

    public static string LockKeyOf(string key) => ResponseCache.Prefix + "lock:" + key[ResponseCache.Prefix.Length..];

    public Task StartAsync(CancellationToken cancellationToken) => redis.OpenAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => redis.CloseAsync();

    public Task PingAsync() => Database.PingAsync();

    public async Task<CacheRead> GetAsync(string key)
    {
        var values = await Database.StringGetAsync([key, GenerationKeyOf(key)]);
        return new CacheRead(values[0], values[1].IsNull ? 0 : (long)values[1]);
    }

    public async Task<bool> SetAsync(string key, byte[] value, TimeSpan timeToLive, long generation) =>
        (int)await Database.ScriptEvaluateAsync(
            SetIfCurrent, [key, GenerationKeyOf(key)], [generation, value, (long)timeToLive.TotalMilliseconds]) == 1;

    public Task InvalidateAsync(string key) =>
        Database.ScriptEvaluateAsync(DeleteAndBump, [key, GenerationKeyOf(key)], [(long)GenerationLifetime.TotalMilliseconds]);

    public async Task<IAsyncDisposable?> TryLockAsync(string key, TimeSpan expiry)
    {
        var lockKey = LockKeyOf(key);
        var token = Guid.NewGuid().ToString("N");
        return await Database.StringSetAsync(lockKey, token, expiry, When.NotExists)
            ? new Lock(Database, lockKey, token)
            : null;
    }

    private IDatabase Database => redis.Database;

    private sealed class Lock(IDatabase database, string key, string token) : IAsyncDisposable
    {
        // Only the holder's own token is deleted: after an expiry, the key may be another holder's.
        public async ValueTask DisposeAsync() => await database.ScriptEvaluateAsync(DeleteIfOwned, [key], [token]);
    }
}
