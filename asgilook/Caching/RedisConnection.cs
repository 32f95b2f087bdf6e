using StackExchange.Redis;

namespace Asgilook.Caching;

/// <summary>
/// The process's one connection to Redis, shared by the response cache, its fill locks and the events
/// sent between instances. Redis only accelerates and relays: the connection never waits long for it,
/// keeps the service answering (uncached) while it is away, and reconnects by itself when it is back.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    /// <summary>How long a Redis operation may take before the request goes on without it.</summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1);

    private readonly ConfigurationOptions _options;
    private readonly ILogger<RedisConnection> _logger;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private ConnectionMultiplexer? _redis;

    public RedisConnection(ConfigurationOptions options, ILogger<RedisConnection> logger)
    {
        _options = options.Clone();
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

    public IDatabase Database => Multiplexer.GetDatabase();

    public ISubscriber Subscriber => Multiplexer.GetSubscriber();

    /// <summary>Connects once (later calls return at once) and checks that Redis answers.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_redis is not null)
            {
                return;
            }

            _redis = await ConnectionMultiplexer.ConnectAsync(_options);
        }
        finally
        {
            _connecting.Release();
        }

        try
        {
            await Database.PingAsync();
        }
        catch (RedisException e)
        {
            _logger.LogWarning(e, "Redis ({Redis}) does not answer yet; responses go uncached until it does", Description);
        }
    }

    public async Task CloseAsync()
    {
        if (_redis is not null)
        {
            await _redis.CloseAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _connecting.Dispose();
    }

    private ConnectionMultiplexer Multiplexer =>
        _redis ?? throw new InvalidOperationException("Redis was used before the connection opened.");
}
