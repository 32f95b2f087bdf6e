namespace Asgilook.Caching;

/// <summary>
/// Opens the cache store when the host starts and closes it when the host stops: the ASGI lifespan
/// events of the tutorial. Hosted services start before the server takes its first request.
/// </summary>
// snippet: lifetime
internal sealed class CacheLifetime(ICacheStore store, ILogger<CacheLifetime> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.StartAsync(cancellationToken);
        logger.LogInformation("Response cache: {CacheStore}", store.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => store.StopAsync(cancellationToken);
}
// end snippet
