using Asgilook.Configuration;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Asgilook.Redis;

/// <summary>
/// The process's one connection to Redis (<c>Asgilook:RedisHost</c>), shared by the response cache, its
/// fill locks and the events sent between instances; <see cref="RedisLifetime"/> opens and closes it.
/// Redis only accelerates and relays: the connection never waits long for it, keeps the service
/// answering (uncached) while it is away, and reconnects by itself when it is back. Without a
/// RedisHost it is not <see cref="Configured"/> and nothing uses it.
/// </summary>
public sealed partial class RedisConnection : IAsyncDisposable
{
    /// <summary>How long a Redis operation may take before the request goes on without it.</summary>
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1);

    private readonly ConfigurationOptions? _options;
    private readonly ILogger<RedisConnection> _logger;
    private ConnectionMultiplexer? _redis;

    public RedisConnection(IOptions<AsgilookOptions> settings, ILogger<RedisConnection> logger)
        : this(Parse(settings.Value.RedisHost), logger)
    {
    }

    internal RedisConnection(ConfigurationOptions? options, ILogger<RedisConnection> logger)
    {
        _logger = logger;
        if (options is null)
        {
            return;
        }

        _options = options.Clone();
        _options.AbortOnConnectFail = false;
        _options.BacklogPolicy = BacklogPolicy.FailFast;
        _options.AsyncTimeout = (int)OperationTimeout.TotalMilliseconds;
        _options.ConnectTimeout = 2 * (int)OperationTimeout.TotalMilliseconds;
        _options.ReconnectRetryPolicy = new LinearRetry(500);
        _options.ClientName ??= "asgilook";
    }

    /// <summary>Whether a Redis is configured: otherwise the cache is in memory and events stay in this instance.</summary>
    public bool Configured => _options is not null;

    /// <summary>Which Redis, for logs and the readiness check (never a password).</summary>
    public string Description => _options is null
        ? "no Redis"
        : $"Redis at {string.Join(", ", _options.EndPoints)}, database {_options.DefaultDatabase ?? 0}";

    public IDatabase Database => Multiplexer.GetDatabase();

    /// <summary>Whether the connection is up now (no round trip); false before it opened.</summary>
    public bool IsConnected => _redis?.IsConnected ?? false;

    /// <summary>Raised when a connection to Redis (commands or subscriptions) drops or is restored.</summary>
    public event Action? ConnectionChanged;

    public ISubscriber Subscriber => Multiplexer.GetSubscriber();

    /// <summary>Connects (once) and checks that Redis answers; one that does not yet is logged, not fatal.</summary>
    public async Task OpenAsync()
    {
        if (_options is null || _redis is not null)
        {
            return;
        }

        _redis = await ConnectionMultiplexer.ConnectAsync(_options);
        _redis.ConnectionFailed += (_, _) => ConnectionChanged?.Invoke();
        _redis.ConnectionRestored += (_, _) => ConnectionChanged?.Invoke();
        try
        {
            await Database.PingAsync();
        }
        catch (RedisException e)
        {
            Log.NotAnswering(_logger, Description, Operations.Redaction.Describe(e));
        }
    }

    /// <summary>Throws when Redis does not answer.</summary>
    public Task PingAsync() => Database.PingAsync();

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
    }

    private ConnectionMultiplexer Multiplexer =>
        _redis ?? throw new InvalidOperationException("Redis was used before the connection opened.");

    /// <summary>The validator already refused an unusable address, so parsing succeeds here.</summary>
    private static ConfigurationOptions? Parse(string? redisHost) =>
        !string.IsNullOrWhiteSpace(redisHost) && RedisAddress.TryParse(redisHost, out var options, out _) ? options : null;

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "{Redis} does not answer yet ({Reason}); responses go uncached until it does")]
        public static partial void NotAnswering(ILogger logger, string redis, string reason);
    }
}
