using Asgilook.Redis;
using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in Redis, shared by every instance pointed at the same server. A key's
/// generation lives beside it (<see cref="RedisKeys.GenerationOf"/>) and so does its fill lock
/// (<see cref="RedisKeys.LockOf"/>); an entry of a query carries a stamp of the tag generation it was
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

    /// <summary>An entry of a query: stored with the stamp of the tag generation it was produced under.</summary>
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

    /// <summary>
    /// A fill lock has no expiry of its own (under <c>volatile-ttl</c> Redis would evict it first, and two instances would
    /// render the same thumbnail): it holds its holder's token and the time it expires by Redis's clock, and an index of
    /// those times lets every attempt forget a few locks whose holders died.
    /// </summary>
    private const string TakeLock = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 16)
        for _, key in ipairs(stale) do
            redis.call('DEL', key)
            redis.call('ZREM', KEYS[2], key)
        end
        local held = redis.call('GET', KEYS[1])
        if held then
            local expires = tonumber(string.match(held, ':(%d+)$'))
            if expires and expires > now then return 0 end
        end
        local expires = now + tonumber(ARGV[2])
        redis.call('SET', KEYS[1], ARGV[1] .. ':' .. expires)
        redis.call('ZADD', KEYS[2], expires, KEYS[1])
        return 1
        """;

    private const string RenewIfOwned = """
        local held = redis.call('GET', KEYS[1])
        if held and string.sub(held, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
            local time = redis.call('TIME')
            local expires = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[2])
            redis.call('SET', KEYS[1], ARGV[1] .. ':' .. expires)
            redis.call('ZADD', KEYS[2], expires, KEYS[1])
            return 1
        end
        return 0
        """;

    private const string DeleteIfOwned = """
        local held = redis.call('GET', KEYS[1])
        if held and string.sub(held, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
            redis.call('ZREM', KEYS[2], KEYS[1])
            return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    /// <summary>How many deletes the log keeps: far more than happen between two reads of it by any instance.</summary>
    private const int DeletesKept = 10_000;

    private const string RecordDeleted = """
        local sequence = redis.call('INCR', KEYS[1])
        redis.call('ZADD', KEYS[2], sequence, ARGV[1] .. ':' .. sequence)
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
        return sequence
        """;

    public string Description => redis.Description;

    public Task RecordDeletedAsync(string imageId) =>
        Database.ScriptEvaluateAsync(RecordDeleted, [RedisKeys.DeletesSequence, RedisKeys.Deletes], [imageId, DeletesKept]);

    public async Task<DeletedImages> DeletedSinceAsync(long sequence)
    {
        var now = (long?)await Database.StringGetAsync(RedisKeys.DeletesSequence) ?? 0;
        if (sequence < 0 || now <= sequence)
        {
            return new DeletedImages(now, [], Complete: true);
        }

        var entries = await Database.SortedSetRangeByScoreWithScoresAsync(RedisKeys.Deletes, sequence, now, Exclude.Start);
        var complete = entries.Length > 0 && (long)entries[0].Score == sequence + 1;
        return new DeletedImages(now, [.. entries.Select(entry => ((string)entry.Element!).Split(':')[0])], complete);
    }

    public async Task<CacheRead> GetAsync(CacheKey key)
    {
        if (key.IsItsOwnTag)
        {
            var values = await Database.StringGetAsync([key.Entry, RedisKeys.GenerationOf(key.Tag)]);
            return new CacheRead(values[0], GenerationOf(values[1]));
        }

        var stamped = await Database.StringGetAsync([key.Entry, RedisKeys.GenerationOf(key.Tag), RedisKeys.StampOf(key.Entry)]);
        var generation = GenerationOf(stamped[1]);
        return new CacheRead(GenerationOf(stamped[2]) == generation && !stamped[2].IsNull ? stamped[0] : RedisValue.Null, generation);
    }

    public async Task<bool> SetAsync(CacheKey key, byte[] value, TimeSpan timeToLive, long generation) => key.IsItsOwnTag
        ? (int)await Database.ScriptEvaluateAsync(
            SetIfCurrent, [key.Entry, RedisKeys.GenerationOf(key.Tag)], [generation, value, (long)timeToLive.TotalMilliseconds]) == 1
        : (int)await Database.ScriptEvaluateAsync(
            SetStampedIfCurrent, [key.Entry, RedisKeys.GenerationOf(key.Tag), RedisKeys.StampOf(key.Entry)],
            [generation, value, (long)timeToLive.TotalMilliseconds]) == 1;

    public Task InvalidateAsync(string tag) =>
        Database.ScriptEvaluateAsync(DeleteAndBump, [tag, RedisKeys.GenerationOf(tag)], [(long)ICacheStore.GenerationLifetime.TotalMilliseconds]);

    public async Task<long> GetGenerationAsync(string tag) => GenerationOf(await Database.StringGetAsync(RedisKeys.GenerationOf(tag)));

    public bool IsConnected => redis.IsConnected;

    public void OnConnectionChanged(Action changed) => redis.ConnectionChanged += changed;

    private static long GenerationOf(RedisValue value) => value.IsNull ? 0 : (long)value;

    public async Task<IHeldLock?> TryLockAsync(string key, TimeSpan expiry)
    {
        var lockKey = RedisKeys.LockOf(key);
        var token = Guid.NewGuid().ToString("N");
        return (int)await Database.ScriptEvaluateAsync(TakeLock, [lockKey, RedisKeys.LockIndex], [token, (long)expiry.TotalMilliseconds]) == 1
            ? new Lock(Database, lockKey, token)
            : null;
    }

    private IDatabase Database => redis.Database;

    private sealed class Lock(IDatabase database, string key, string token) : IHeldLock
    {
        public async Task<bool> RenewAsync(TimeSpan expiry) =>
            (int)await database.ScriptEvaluateAsync(RenewIfOwned, [key, RedisKeys.LockIndex], [token, (long)expiry.TotalMilliseconds]) == 1;

        // Only the holder's own token is deleted: after an expiry, the key may be another holder's.
        public async ValueTask DisposeAsync() => await database.ScriptEvaluateAsync(DeleteIfOwned, [key, RedisKeys.LockIndex], [token]);
    }
}
