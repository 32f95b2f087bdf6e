using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>The response cache in Redis, shared by every instance pointed at the same server.</summary>
public sealed class RedisCacheStore : ICacheStore, IAsyncDisposable
{
    private readonly ConfigurationOptions _options;
    private readonly ILogger<RedisCacheStore> _logger;
    private ConnectionMultiplexer? _redis;

    /// <summary>How long a cache operation may take before the request goes on uncached.</summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1);

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

    public async Task<byte[]?> GetAsync(string key) => await Database.StringGetAsync(key);

    public Task SetAsync(string key, byte[] value, TimeSpan timeToLive) =>
        Database.StringSetAsync(key, value, timeToLive);

    public Task DeleteAsync(string key) => Database.KeyDeleteAsync(key);

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
