using Asgilook.Redis;
using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in Redis, shared by every instance pointed at the same server. A key's
/// generation lives beside it (<see cref="RedisKeys.GenerationOf"/>) and so does its fill lock
/// (<see cref="RedisKeys.LockOf"/>); an entry of a query carries a stamp of the family generation it was
/// stored under (<see cref="RedisKeys.StampOf"/>). The compare-and-set, the invalidation and the lock's
/// release are Lua scripts, so they are atomic across instances.
/// </summary>
public sealed class RedisCacheStore(RedisConnection redis) : ICacheStore
{
    private const string SetIfCurrent = """
        if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    /// <summary>An entry of a query: stored with the stamp of the family generation it was produced under.</summary>
    private const string SetStampedIfCurrent = """
        if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
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

    public async Task<CacheRead> GetAsync(CacheKey key)
    {
        if (key.IsFamily)
        {
            var values = await Database.StringGetAsync([key.Entry, RedisKeys.GenerationOf(key.Family)]);
            return new CacheRead(values[0], GenerationOf(values[1]));
        }

        var stamped = await Database.StringGetAsync([key.Entry, RedisKeys.GenerationOf(key.Family), RedisKeys.StampOf(key.Entry)]);
        var generation = GenerationOf(stamped[1]);
        return new CacheRead(GenerationOf(stamped[2]) == generation && !stamped[2].IsNull ? stamped[0] : RedisValue.Null, generation);
    }

    public async Task<bool> SetAsync(CacheKey key, byte[] value, TimeSpan timeToLive, long generation) => key.IsFamily
        ? (int)await Database.ScriptEvaluateAsync(
            SetIfCurrent, [key.Entry, RedisKeys.GenerationOf(key.Family)], [generation, value, (long)timeToLive.TotalMilliseconds]) == 1
        : (int)await Database.ScriptEvaluateAsync(
            SetStampedIfCurrent, [key.Entry, RedisKeys.GenerationOf(key.Family), RedisKeys.StampOf(key.Entry)],
            [generation, value, (long)timeToLive.TotalMilliseconds]) == 1;

    public Task InvalidateAsync(string family) =>
        Database.ScriptEvaluateAsync(DeleteAndBump, [family, RedisKeys.GenerationOf(family)], [(long)ICacheStore.GenerationLifetime.TotalMilliseconds]);

    public async Task<long> GetGenerationAsync(string family) => GenerationOf(await Database.StringGetAsync(RedisKeys.GenerationOf(family)));

    public bool IsConnected => redis.IsConnected;

    public void OnConnectionChanged(Action changed) => redis.ConnectionChanged += changed;

    private static long GenerationOf(RedisValue value) => value.IsNull ? 0 : (long)value;

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
