using Asgilook.Redis;
using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in Redis, shared by every instance pointed at the same server. A key's
/// generation lives beside it (<see cref="RedisKeys.GenerationOf"/>) and so does its fill lock
/// (<see cref="RedisKeys.LockOf"/>); the compare-and-set, the invalidation and the lock's release are
/// Lua scripts, so they are atomic across instances.
/// </summary>
public sealed class RedisCacheStore(RedisConnection redis) : ICacheStore
{
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

    public async Task<CacheRead> GetAsync(string key)
    {
        var values = await Database.StringGetAsync([key, RedisKeys.GenerationOf(key)]);
        return new CacheRead(values[0], values[1].IsNull ? 0 : (long)values[1]);
    }

    public async Task<bool> SetAsync(string key, byte[] value, TimeSpan timeToLive, long generation) =>
        (int)await Database.ScriptEvaluateAsync(
            SetIfCurrent, [key, RedisKeys.GenerationOf(key)], [generation, value, (long)timeToLive.TotalMilliseconds]) == 1;

    public Task InvalidateAsync(string key) =>
        Database.ScriptEvaluateAsync(DeleteAndBump, [key, RedisKeys.GenerationOf(key)], [(long)ICacheStore.GenerationLifetime.TotalMilliseconds]);

    public async Task<IAsyncDisposable?> TryLockAsync(string key, TimeSpan expiry)
    {
        var lockKey = RedisKeys.LockOf(key);
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
