using System.Globalization;
using Asgilook.Redis;
using StackExchange.Redis;

namespace Asgilook.RateLimiting;

/// <summary>
/// The buckets in Redis (<see cref="RedisKeys.RateLimitOf"/>), shared by every instance, so a client
/// behind a load balancer cannot multiply its budget by the number of instances. One Lua script reads
/// the clock of Redis itself (instances' clocks may differ), refills, takes and sets the expiry, atomically.
/// </summary>
public sealed class RedisRateLimitStore(RedisConnection redis) : IRateLimitStore
{
    private const string Take = """
        local capacity = tonumber(ARGV[1])
        local per_ms = tonumber(ARGV[2])
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
        if tokens >= 1 then
            tokens = tokens - 1
            allowed = 1
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
        redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_ms) + 1000)
        return { allowed, tostring(tokens) }
        """;

    public async Task<RateLimitDecision> TakeAsync(string bucket, RateLimitPolicy policy)
    {
        var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(
            Take, [RedisKeys.RateLimitOf(policy.Name, bucket)], [policy.PerMinute, policy.TokensPerSecond / 1000]))!;
        return new RateLimitDecision((int)result[0] == 1, double.Parse((string)result[1]!, CultureInfo.InvariantCulture), policy);
    }
}
