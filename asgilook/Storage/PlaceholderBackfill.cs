using Asgilook.Imaging;

namespace Asgilook.Storage;

/// <summary>
/// Gives the images stored before placeholders existed theirs, once, in the background after startup: a batch
/// at a time, each made on the render queue (so thumbnails and this share the same bound), each told as an
/// <see cref="ImageChanged"/> so that the list's cached copies go and pages see it. Several instances may run it at once: a row keeps the first
/// placeholder written. Until then such an image's <c>placeholder</c> is null.
/// </summary>
internal sealed partial class PlaceholderBackfill(
    IImageCatalog catalog, IBlobStore blobs, IImageProcessor processor, ImageWork work, IImageEventPublisher events, IHostApplicationLifetime lifetime,
    ILogger<PlaceholderBackfill> logger)
    : BackgroundService
{
    private const int Batch = 64;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var made = 0;
        try
        {
            // Once every part of the app (the work queues, the cache) has started.
            using (var started = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStarted, stoppingToken))
            {
                await Task.Delay(Timeout.Infinite, started.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                var ids = await catalog.WithoutPlaceholderAsync(Batch, stoppingToken);
                var missing = 0;
                foreach (var id in ids)
                {
                    if (await MakeAsync(id, stoppingToken))
                    {
                        made++;
                    }
                    else
                    {
                        missing++;
                    }
                }

                if (ids.Count < Batch || missing == ids.Count)
                {
                    break; // done, or only images whose files are gone (the startup repair unlists those)
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Failed(logger, e.GetType().Name);
        }

        if (made > 0)
        {
            Log.Made(logger, made);
        }
    }

    private async Task<bool> MakeAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await catalog.GetAsync(id, cancellationToken) is not { } image || await blobs.ReadOriginalAsync(image.Blob, cancellationToken) is not { } jpeg)
        {
            return false;
        }

        // A JPEG this service wrote: decoded in this process, on the render queue, as one more client in its turns.
        var placeholder = await work.Renders.RunAsync(
            new WorkTicket("placeholder-backfill", Placeholders.Side * Placeholders.Side), () => processor.MakePlaceholder(jpeg), cancellationToken);
        await catalog.SetPlaceholderAsync(id, placeholder, cancellationToken);
        await events.PublishAsync(new ImageChanged(id));
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Made placeholders for {Count} image(s) stored before placeholders existed")]
        public static partial void Made(ILogger logger, int count);

        [LoggerMessage(LogLevel.Warning, "Stopped making the placeholders of older images ({Failure}); the next start goes on")]
        public static partial void Failed(ILogger logger, string failure);
    }
}
