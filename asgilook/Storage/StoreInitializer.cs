using System.Data.Common;
using Asgilook.Configuration;
using Asgilook.Operations;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// Prepares the store before the server takes traffic. A catalog database or a bucket that does not answer yet
/// (an instance started before them) is waited for, up to <see cref="AsgilookOptions.DatabaseStartupWait"/>.
/// </summary>
internal sealed class StoreInitializer(
    StorageStartup startup, IImageCatalog catalog, IBlobStore blobs, TimeProvider clock, ILogger<StoreInitializer> logger, IOptions<AsgilookOptions> options) : IHostedService
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
            catch (Exception e) when (e is DbException { IsTransient: true } or StoreUnavailableException)
            {
                var what = e is StoreUnavailableException ? $"The image store ({blobs.Description})" : $"The image catalog ({catalog.Description})";
                var reason = e is StoreUnavailableException away ? away.Reason : Redaction.Describe(e);
                if (clock.GetUtcNow() + Pause > giveUpAt)
                {
                    throw new InvalidOperationException(
                        $"{what} did not answer within {options.Value.DatabaseStartupWait.TotalSeconds:0.#} s (Asgilook:DatabaseStartupWait): {reason}");
                }

                logger.LogWarning("{What} does not answer yet ({Reason}); trying again", what, reason);
                await Task.Delay(Pause, clock, cancellationToken);
            }
        }

        logger.LogInformation("Images are stored in {Store}, listed in {Catalog}", blobs.Description, catalog.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
