using System.Diagnostics;
using System.Security.Cryptography;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.Thumbnails;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// The image store: converts uploads, writes their files, records them in the catalog, renders
/// thumbnails. The resources talk to it; it talks to the image engine, the catalog and the files.
/// The order of the steps is what makes it crash-safe: a row is committed only after its file is
/// in place, and removed before its file is, so a listed image always has its file.
/// </summary>
public sealed partial class ImageStore(
    IOptions<AsgilookOptions> options, IImageCatalog catalog, ImageFiles files, IImageProcessor processor, IUploadConverter converter,
    ImageWork work, AsgilookMetrics metrics, TimeProvider clock, ILogger<ImageStore> logger)
{
    /// <summary>Whether the storage folder's disk has <c>MinFreeDiskMegabytes</c> free, checked before an upload is read.</summary>
    public bool HasRoomForUploads() => files.FreeBytes() >= options.Value.MinFreeDiskMegabytes * 1024 * 1024;

    /// <summary>The image, or null when it is unknown or its file is gone.</summary>
    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is not null && !files.Exists(id))
        {
            Log.FileGone(logger, id);
            return null;
        }

        return image;
    }

    /// <inheritdoc cref="IImageCatalog.ListAsync"/>
    public Task<ImagePage?> ListAsync(Guid? after, int? limit, ListOrder order, CancellationToken cancellationToken) =>
        catalog.ListAsync(after, limit, order, cancellationToken);

    /// <summary>
    /// What the server learns of an upload before any decoder sees it (<see cref="UploadHeader"/>): its format,
    /// its declared size, and the header checks that refuse it early.
    /// </summary>
    /// <exception cref="RejectedImageException">The header alone refuses it.</exception>
    public UploadHeader Inspect(byte[] upload) => UploadHeader.Inspect(upload, processor.Reads, processor.Name, options.Value.MaxPixels);

    /// <summary>Converts the upload to JPEG (in a conversion worker) and stores it under <paramref name="id"/>, with who may delete it.</summary>
    /// <param name="ticket">Whose upload it is and the pixels it declares: the conversion queue shares its workers by these.</param>
    /// <exception cref="RejectedImageException">The upload is not an image Asgilook takes.</exception>
    /// <exception cref="ServerBusyException">Too many conversions are waiting already.</exception>
    /// <exception cref="ClientBusyException">This client has as many conversions waiting as one client may.</exception>
    /// <exception cref="StorageFullException">The disk is full: nothing was kept.</exception>
    // snippet: save
    public async Task<StoredImage> SaveAsync(Guid id, byte[] upload, Ownership ownership, WorkTicket ticket, CancellationToken cancellationToken)
    {
        var converting = Stopwatch.StartNew();
        var conversion = await work.Conversions.RunAsync(ticket, () => converter.Convert(upload), cancellationToken);
        metrics.UploadConverted(converting.Elapsed);

        var converted = conversion.Image;
        await files.WriteAsync(id, converted.Jpeg, cancellationToken);
        var image = new StoredImage(
            id, converted.Width, converted.Height, clock.GetUtcNow(), converted.Jpeg.Length,
            conversion.Sha256, ownership.DeleteTokenHash, ownership.OwnerKeyId, conversion.Placeholder);
        try
        {
            // Not cancellable: once the file is in place, the row must follow it or the file must go.
            await catalog.AddAsync(image, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            switch (await AfterFailedInsertAsync(image, e))
            {
                case InsertOutcome.ListedAfterAll:
                    return image;
                case InsertOutcome.DiskFull:
                    throw new StorageFullException(e);
                default:
                    throw;
            }
        }

        return image;
    }
    // end snippet

    private enum InsertOutcome { ListedAfterAll, Failed, DiskFull, Unknown }

    /// <summary>
    /// After a failed insert the file goes, unless the row is there after all (an insert can commit and
    /// time out before it is acknowledged), or the catalog cannot say: the file is then a leftover that
    /// the next start quarantines, never a listed image without its file.
    /// </summary>
    private async Task<InsertOutcome> AfterFailedInsertAsync(StoredImage image, Exception failure)
    {
        if (NeverReachedTheDatabase(failure))
        {
            files.Delete(image.Id);
            return StorageFullException.IsDiskFull(failure) ? InsertOutcome.DiskFull : InsertOutcome.Failed;
        }

        try
        {
            if (await catalog.GetAsync(image.Id, CancellationToken.None) is not null)
            {
                Log.CommittedAfterAll(logger, image.Id, Redaction.Describe(failure));
                return InsertOutcome.ListedAfterAll;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.KeptUnknown(logger, image.Id, Redaction.Describe(e));
            return InsertOutcome.Unknown;
        }

        files.Delete(image.Id);
        return StorageFullException.IsDiskFull(failure) ? InsertOutcome.DiskFull : InsertOutcome.Failed;
    }

    /// <summary>
    /// Whether the insert certainly did not commit: the database answered it with an error, SQLite
    /// refused it, or no connection could be made. A timeout or a connection broken mid-command may
    /// have committed.
    /// </summary>
    private static bool NeverReachedTheDatabase(Exception failure)
    {
        if (failure is Npgsql.PostgresException or Microsoft.Data.Sqlite.SqliteException)
        {
            return true;
        }

        for (var cause = failure.InnerException; cause is not null; cause = cause.InnerException)
        {
            if (cause is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostNotFound })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The image's record, even when its file is gone (so that it can still be deleted).</summary>
    public Task<StoredImage?> FindAsync(Guid id, CancellationToken cancellationToken) => catalog.GetAsync(id, cancellationToken);

    /// <summary>Removes the image and returns what it was; null when it was unknown.</summary>
    public async Task<StoredImage?> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is null || !await catalog.DeleteAsync(id, cancellationToken))
        {
            return null;
        }

        try
        {
            files.Delete(id);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The row is gone, so the image is: its answers must go too. The file is quarantined at the next start.
            Log.FileNotDeleted(logger, id, Redaction.Describe(e));
        }

        return image;
    }

    /// <summary>The stored JPEG, open for streaming; null when its file is gone (deleted meanwhile).</summary>
    public FileStream? OpenOriginal(StoredImage image) => files.OpenRead(image.Id);

    /// <summary>The thumbnail's ETag, known before rendering: the stored image's hash, the size and the engine.</summary>
    public string ThumbnailETag(StoredImage image, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg) =>
        ThumbnailSeries.ETag(image, width, height, processor.Version, processor.EncoderOf(format));

    /// <summary>The formats this server renders thumbnails in.</summary>
    public IReadOnlyCollection<ThumbnailFormat> ThumbnailFormats => processor.ThumbnailFormats;

    /// <summary>
    /// The thumbnail as rendered before (by any instance, before any restart), open for streaming; null when it never was.
    /// It was checked whole when it was written; here a few small reads tell that it is still that file (one truncated,
    /// emptied or replaced is deleted, logged and rendered again), whatever its size: nothing is read whole to answer.
    /// </summary>
    public FileStream? OpenKeptThumbnail(StoredImage image, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg)
    {
        var name = RenderName(image, width, height, format);
        if (files.OpenRender(image.Id, name) is not { } file)
        {
            return null;
        }

        if (!FileStructure.LooksWhole(LoaderOf(format), file))
        {
            // Not what this service wrote (a disk error, a hand edit): never served; rendered and kept again.
            file.Dispose();
            Log.RenderDamaged(logger, image.Id);
            files.DeleteRender(image.Id, name);
            return null;
        }

        metrics.ThumbnailRead();
        return file;
    }

    private static ImageFormats.ImageLoader LoaderOf(ThumbnailFormat format) => format switch
    {
        ThumbnailFormat.Webp => ImageFormats.ImageLoader.Webp,
        ThumbnailFormat.Avif => ImageFormats.ImageLoader.Heif,
        _ => ImageFormats.ImageLoader.Jpeg,
    };

    /// <summary>
    /// A render's file name: its size, and a hash of its ETag (the image, the size, the engine and the
    /// encoder), so that another engine or encoder setting never serves an older render.
    /// </summary>
    private string RenderName(StoredImage image, int width, int height, ThumbnailFormat format) =>
        $"{width}x{height}.{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ThumbnailETag(image, width, height, format))))[..16]}.{format.Extension()}";

    /// <summary>Renders the thumbnail on an image worker and keeps it beside the image; null when the image was deleted meanwhile.</summary>
    /// <param name="client">Who asked: the render queue shares its workers between clients, by the thumbnail's pixels.</param>
    /// <exception cref="ServerBusyException">Too much image work is waiting already.</exception>
    /// <exception cref="ClientBusyException">This client has as many renders waiting as one client may.</exception>
    public async Task<RenderedThumbnail?> RenderThumbnailAsync(
        StoredImage image, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg, string client = "")
    {
        byte[] jpeg;
        try
        {
            jpeg = await File.ReadAllBytesAsync(files.PathOf(image.Id));
        }
        catch (FileNotFoundException)
        {
            return null; // deleted (maybe by another process) since it was looked up
        }

        // Not cancelled with the request: others (in any instance) may be waiting for this rendering.
        var queued = Stopwatch.StartNew();
        var rendered = await work.Renders.RunAsync(new WorkTicket(client, (long)width * height), () =>
        {
            var waited = queued.Elapsed;
            return processor.Thumbnail(jpeg, width, height, format) with { Queue = waited };
        }, CancellationToken.None);
        metrics.ThumbnailRendered(rendered.Resize + rendered.Encode);
        await KeepAsync(image, RenderName(image, width, height, format), rendered.Bytes, format);
        return rendered;
    }

    /// <summary>
    /// Keeps a render unless the disk is short of room (a render that cannot be kept is still served), once it is checked
    /// to be exactly one whole file of its format: the check a kept render's reads then need not repeat.
    /// </summary>
    private async Task KeepAsync(StoredImage image, string name, byte[] bytes, ThumbnailFormat format)
    {
        if (!HasRoomForUploads() || !FileStructure.IsExactlyOneFile(LoaderOf(format), bytes))
        {
            return;
        }

        try
        {
            await files.WriteRenderAsync(image.Id, name, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.RenderNotKept(logger, image.Id, Redaction.Describe(e));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "The catalog answered the insert of image {ImageId} with {Failure}, yet it holds the row: the upload stands")]
        public static partial void CommittedAfterAll(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "The catalog could not say whether image {ImageId} was recorded ({Failure}); its file is kept for the next start to settle")]
        public static partial void KeptUnknown(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} was unlisted but its file could not be deleted ({Failure}); the next start quarantines it")]
        public static partial void FileNotDeleted(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "A kept thumbnail of image {ImageId} is not a whole image; it is rendered again")]
        public static partial void RenderDamaged(ILogger logger, Guid imageId);

        [LoggerMessage(LogLevel.Warning, "A thumbnail of image {ImageId} was served but could not be kept ({Failure}); it will be rendered again")]
        public static partial void RenderNotKept(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} is listed but its file is gone; answering as not found")]
        public static partial void FileGone(ILogger logger, Guid imageId);
    }
}
