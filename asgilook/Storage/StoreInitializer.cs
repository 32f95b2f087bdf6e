using System.Data.Common;
using Asgilook.Configuration;
using Asgilook.Operations;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// Prepares the store before the server takes traffic. A catalog database that does not answer yet
/// (an instance started before its database) is waited for, up to <see cref="AsgilookOptions.DatabaseStartupWait"/>.
/// </summary>
internal sealed class StoreInitializer(
    StorageStartup startup, IImageCatalog catalog, TimeProvider clock, ILogger<StoreInitializer> logger, IOptions<AsgilookOptions> options) : IHostedService
{
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var giveUpAt = clock.GetUtcNow() + options.Value.DatabaseStartupWait;
        while (true)
        {
            try
            {
                await startup.RunAsync(cancellationToken);
                break;
            }
            catch (DbException e) when (e.IsTransient)
            {
                if (clock.GetUtcNow() + Pause > giveUpAt)
                {
                    throw new InvalidOperationException(
                        $"The image catalog ({catalog.Description}) did not answer within {options.Value.DatabaseStartupWait.TotalSeconds:0.#} s " +
                        $"(Asgilook:DatabaseStartupWait): {Redaction.Describe(e)}");
                }

                logger.LogWarning("The image catalog ({Catalog}) does not answer yet ({Reason}); trying again", catalog.Description, Redaction.Describe(e));
                await Task.Delay(Pause, clock, cancellationToken);
            }
        }

        logger.LogInformation("Images are stored in {StoragePath}, listed in {Catalog}", Path.GetFullPath(options.Value.StoragePath), catalog.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
