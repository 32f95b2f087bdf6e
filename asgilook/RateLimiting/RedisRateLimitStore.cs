using System.Globalization;
using Asgilook.Redis;
using StackExchange.Redis;

namespace Asgilook.RateLimiting;

/// <summary>
/// The buckets in Redis (<see cref="RedisKeys.RateLimitOf"/>), shared by every instance, so a client
/// behind a load balancer cannot multiply its budget by the number of instances. One Lua script reads
/// the clock of Redis itself (instances' clocks may differ), refills, takes and tidies, atomically.
/// A bucket has no expiry of its own: Redis under memory pressure with <c>volatile-ttl</c> (the deploy
/// files' policy) evicts keys that have one, shortest first, and a bucket evicted is a bucket refilled.
/// Instead each policy keeps an index of when each bucket is full again (a sorted set), and every take
/// forgets a few buckets that are: memory follows the clients active in the last minute.
/// </summary>
public sealed class RedisRateLimitStore(RedisConnection redis) : IRateLimitStore
{
    private const string Take = """
        local capacity = tonumber(ARGV[1])
        local per_ms = tonumber(ARGV[2])
        local cost = tonumber(ARGV[3])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1])
        local at = tonumber(state[2])
        if tokens == nil or at == nil then
            tokens = capacity
            at = now
        end
        tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
        local allowed = 0
        if tokens >= cost then
            tokens = tokens - cost
            allowed = 1
        end
        if tokens >= capacity then
            redis.call('DEL', KEYS[1])
            redis.call('ZREM', KEYS[2], KEYS[1])
        else
            redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
            redis.call('ZADD', KEYS[2], now + math.ceil((capacity - tokens) / per_ms), KEYS[1])
        end
        local full = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 16)
        for _, key in ipairs(full) do
            redis.call('DEL', key)
            redis.call('ZREM', KEYS[2], key)
        end
        return { allowed, tostring(tokens) }
        """;

    public async Task<RateLimitDecision> TakeAsync(string bucket, RateLimitPolicy policy, int cost = 1)
    {
        var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(
            Take, [RedisKeys.RateLimitOf(policy.Name, bucket), RedisKeys.RateLimitIndexOf(policy.Name)],
            [policy.PerMinute, policy.TokensPerSecond / 1000, cost]))!;
        return new RateLimitDecision((int)result[0] == 1, double.Parse((string)result[1]!, CultureInfo.InvariantCulture), policy, cost);
    }
}
