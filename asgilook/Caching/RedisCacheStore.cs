using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in Redis, shared by every instance pointed at the same server. A key's
/// generation lives beside it as <c>asgilook:generation:&lt;path&gt;</c>; the compare-and-set and
/// the invalidation are Lua scripts, so they are atomic across instances.
/// </summary>
public sealed class RedisCacheStore : ICacheStore, IAsyncDisposable
{
    /// <summary>How long a cache operation may take before the request goes on uncached.</summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1);

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

    private readonly ConfigurationOptions _options;
    private readonly ILogger<RedisCacheStore> _logger;
    private ConnectionMultiplexer? _redis;

    public RedisCacheStore(ConfigurationOptions options, ILogger<RedisCacheStore> logger)
    {
        _options = options.Clone();
        // The cache only accelerates: keep serving (uncached) while Redis is away or slow, never wait
        // long for it, and reconnect by itself when it is back.
        _options.AbortOnConnectFail = false;
        _options.BacklogPolicy = BacklogPolicy.FailFast;
        _options.AsyncTimeout = (int)OperationTimeout.TotalMilliseconds;
        _options.ConnectTimeout = 2 * (int)OperationTimeout.TotalMilliseconds;
        _options.ReconnectRetryPolicy = new LinearRetry(500);
        _options.ClientName ??= "asgilook";
        _logger = logger;
    }

    public string Description =>
        $"Redis at {string.Join(", ", _options.EndPoints)}, database {_options.DefaultDatabase ?? 0}";

    public static string GenerationKeyOf(string key) => ResponseCache.Prefix + "generation:" + key[ResponseCache.Prefix.Length..];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _redis ??= await ConnectionMultiplexer.ConnectAsync(_options);
        try
        {
            await Database.PingAsync();
        }
        catch (RedisException e)
        {
            _logger.LogWarning(e, "Redis ({Redis}) does not answer yet; responses go uncached until it does", Description);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_redis is not null)
        {
            await _redis.CloseAsync();
        }
    }

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

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    private IDatabase Database =>
        (_redis ?? throw new InvalidOperationException("The Redis cache store was used before it started.")).GetDatabase();
}
