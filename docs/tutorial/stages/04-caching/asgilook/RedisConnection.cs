using StackExchange.Redis;

namespace Asgilook;

/// <summary>The tutorial's startup and shutdown: one connection to Redis for the app's lifetime.</summary>
public sealed class RedisConnection(Config config) : IHostedService
{
    private ConnectionMultiplexer? _redis;

    public IDatabase Database => (_redis ?? throw new InvalidOperationException("Redis is not connected yet.")).GetDatabase();

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _redis = await ConnectionMultiplexer.ConnectAsync(config.RedisHost);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_redis is not null)
        {
            await _redis.CloseAsync();
        }
    }
}
