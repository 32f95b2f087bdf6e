namespace Asgilook.Redis;

/// <summary>
/// Opens the Redis connection as the host starts and closes it as the host stops: the tutorial's
/// <c>process_startup</c> and <c>process_shutdown</c> (ASGI lifespan). It opens before any hosted service
/// starts and closes after every one has stopped, so the cache and the events that use the connection
/// find it open whatever order they were registered in.
/// </summary>
// snippet: lifetime
internal sealed class RedisLifetime(RedisConnection redis, ILogger<RedisLifetime> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (redis.Configured)
        {
            await redis.OpenAsync();
            logger.LogInformation("Connected to {Redis}", redis.Description);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => redis.CloseAsync();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
// end snippet
