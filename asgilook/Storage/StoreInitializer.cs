namespace Asgilook.Storage;

/// <summary>Prepares the store before the server takes traffic.</summary>
internal sealed class StoreInitializer(IImageStore store, ILogger<StoreInitializer> logger, Microsoft.Extensions.Options.IOptions<AsgilookOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        logger.LogInformation("Images are stored in {StoragePath}", Path.GetFullPath(options.Value.StoragePath));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
