using Asgilook.Configuration;
using Asgilook.Operations;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// With a bucket, every <c>Asgilook:S3:SweepInterval</c>: deletes the objects no catalogued image names once older than
/// <c>LeftoverGracePeriod</c> (an upload whose row never came, a delete that could not reach the bucket, renders kept
/// while their image went). That is how a failed delete is retried. The folder is settled at startup only (its leftovers
/// go to <c>.quarantine/</c> for an operator). Several instances may sweep at once: deleting what is gone is harmless.
/// </summary>
internal sealed partial class LeftoverSweep(
    IBlobStore blobs, IImageCatalog catalog, IOptions<AsgilookOptions> options, TimeProvider clock, IHostApplicationLifetime lifetime,
    ILogger<LeftoverSweep> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!blobs.IsRemote)
        {
            return;
        }

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, lifetime.ApplicationStarted).ContinueWith(_ => { }, TaskScheduler.Default);
            using var timer = new PeriodicTimer(options.Value.S3.SweepInterval, clock);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SweepAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sweep; a failure is logged and the next tick tries again.</summary>
    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The catalog is read before the bucket is listed: an object written after this read is younger than the grace.
            var catalogued = (await catalog.ImagesByBlobAsync(cancellationToken)).Select(blob => blob.Key).ToHashSet();
            var report = await blobs.SettleLeftoversAsync(catalogued, options.Value.LeftoverGracePeriod, clock.GetUtcNow(), cancellationToken);
            if (report.Originals + report.Renders > 0)
            {
                Log.Swept(logger, report.Originals, report.Renders, blobs.Description);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.Failed(logger, blobs.Description, e is StoreUnavailableException away ? away.Reason : Redaction.Describe(e));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Deleted {Originals} original(s) and {Renders} render(s) no image lists from {Store}")]
        public static partial void Swept(ILogger logger, int originals, int renders, string store);

        [LoggerMessage(LogLevel.Warning, "The sweep of {Store} failed ({Failure}); it runs again at its next interval")]
        public static partial void Failed(ILogger logger, string store, string failure);
    }
}
