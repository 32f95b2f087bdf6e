namespace Asgilook.Storage;

/// <summary>Prepares the store before the server takes traffic.</summary>
internal sealed class StoreInitializer(
    IImageStore store, IImageCatalog catalog, ILogger<StoreInitializer> logger, Microsoft.Extensions.Options.IOptions<AsgilookOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        logger.LogInformation("Images are stored in {StoragePath}, listed in {Catalog}", Path.GetFullPath(options.Value.StoragePath), catalog.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
