using System.Diagnostics;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Moderation;
using Asgilook.Operations;
using Asgilook.Quotas;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// The image store: converts uploads, writes their bytes (<see cref="IBlobStore"/>: the folder or a bucket), records
/// them in the catalog, and tells what happened (<see cref="ImageEvent"/>). The resources talk to it; it talks to the
/// conversion workers, the catalog and the blob store. The order of the steps is what makes it crash-safe: a row is
/// committed only after its original is durably written, and removed before its original is, so a listed image always
/// has its bytes.
/// </summary>
public sealed partial class ImageStore(
    IOptions<AsgilookOptions> options, IImageCatalog catalog, IBlobStore blobs, IImageProcessor processor, IUploadConverter converter,
    ModerationHook moderation, ImageWork work, IImageEventPublisher events, AsgilookMetrics metrics, TimeProvider clock, ILogger<ImageStore> logger)
{
    /// <summary>
    /// Whether the storage folder's disk has <c>MinFreeDiskMegabytes</c> free, checked before an upload is read (a bucket's
    /// room is not this service's to watch).
    /// </summary>
    public bool HasRoomForUploads() => blobs.FreeBytes() is not { } free || free >= options.Value.MinFreeDiskMegabytes * 1024 * 1024;

    /// <summary>Refuses an upload at once (before its body is read) while the bucket was just found unreachable.</summary>
    /// <exception cref="StoreUnavailableException">It was, a few seconds ago.</exception>
    public void ThrowIfStoreAway()
    {
        if (blobs.AwayReason is { } reason)
        {
            throw new StoreUnavailableException(blobs.Description, reason);
        }
    }

    /// <summary>What the upload key (by its id) stores now, and what it may.</summary>
    public async Task<(KeyUsage Usage, Quota Quota)> UsageAsync(string keyId, CancellationToken cancellationToken) =>
        (await catalog.UsageAsync(keyId, cancellationToken), options.Value.Quotas.Quota);

    /// <summary>
    /// Refuses an upload with a key that stores all its quota already (checked before the body is read; whether an
    /// image fits is decided again, exactly, when its row is added).
    /// </summary>
    /// <exception cref="QuotaExceededException">The key has reached a limit.</exception>
    public async Task ThrowIfQuotaReachedAsync(string? keyId, CancellationToken cancellationToken)
    {
        if (keyId is null || options.Value.Quotas.Quota is not { Limits: true } quota)
        {
            return;
        }

        var usage = await catalog.UsageAsync(keyId, cancellationToken);
        if (quota.ReachedBy(usage) is { } limit)
        {
            throw new QuotaExceededException(limit, usage, quota);
        }
    }

    /// <summary>The image, or null when it is unknown or its file is gone.</summary>
    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is not null && blobs.KnownMissing(id))
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
    /// <exception cref="StoreUnavailableException">The bucket cannot be reached: nothing was listed.</exception>
    /// <exception cref="BlockedContentException">An admin blocked this content: nothing was stored.</exception>
    /// <exception cref="QuotaExceededException">The image would take its key past a quota: nothing was stored.</exception>
    /// <exception cref="ModerationRefusedException">The moderation hook refused it: nothing was stored.</exception>
    /// <exception cref="ModerationUnavailableException">The moderation hook failed and failures are refused: nothing was stored.</exception>
    // snippet: save
    public async Task<StoredImage> SaveAsync(Guid id, byte[] upload, Ownership ownership, WorkTicket ticket, CancellationToken cancellationToken)
    {
        var converting = Stopwatch.StartNew();
        var conversion = await work.Conversions.RunAsync(ticket, () => converter.Convert(upload), cancellationToken);
        metrics.UploadConverted(converting.Elapsed);

        var converted = conversion.Image;
        if (await catalog.IsBlockedAsync(conversion.Sha256, cancellationToken))
        {
            throw new BlockedContentException();
        }

        await moderation.ReviewAsync(id, ownership.OwnerKeyId, converted.Jpeg, cancellationToken);

        await blobs.WriteAsync(id, converted.Jpeg, cancellationToken);
        var image = new StoredImage(
            id, converted.Width, converted.Height, clock.GetUtcNow(), converted.Jpeg.Length,
            conversion.Sha256, ownership.DeleteTokenHash, ownership.OwnerKeyId, conversion.Placeholder);
        var quota = options.Value.Quotas.Quota;
        KeyUsage? pastQuota = null;
        try
        {
            // Not cancellable: once the file is in place, the row must follow it or the file must go.
            pastQuota = await catalog.AddAsync(image, quota, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            switch (await AfterFailedInsertAsync(image, e))
            {
                case InsertOutcome.ListedAfterAll:
                    break;
                case InsertOutcome.DiskFull:
                    throw new StorageFullException(e);
                default:
                    throw;
            }
        }

        if (pastQuota is { } usage)
        {
            await ForgetBytesAsync(id);
            throw new QuotaExceededException(quota.PassedBy(usage, image.ByteLength)!.Value, usage, quota);
        }

        await events.PublishAsync(ImageUploaded.Of(image));
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
            await ForgetBytesAsync(image.Id);
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

        await ForgetBytesAsync(image.Id);
        return StorageFullException.IsDiskFull(failure) ? InsertOutcome.DiskFull : InsertOutcome.Failed;
    }

    /// <summary>Deletes the bytes of an upload that was not listed; if that fails too, they are a leftover that is settled later.</summary>
    private async Task ForgetBytesAsync(Guid id)
    {
        try
        {
            await blobs.DeleteAsync(id, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.BytesNotDeleted(logger, id, Redaction.Describe(e));
        }
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
    /// <param name="block">Also refuse every later upload of the same content (blocked before the row goes, so no
    /// re-upload slips in between).</param>
    public async Task<StoredImage?> DeleteAsync(Guid id, bool block, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is null)
        {
            return null;
        }

        if (block)
        {
            await catalog.BlockAsync(image.Sha256, id, clock.GetUtcNow(), cancellationToken);
            Log.Blocked(logger, id);
        }

        if (!await catalog.DeleteAsync(id, cancellationToken))
        {
            return null;
        }

        try
        {
            await blobs.DeleteAsync(id, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The row is gone, so the image is: its answers must go too. Its bytes are a leftover now, settled later
            // (quarantined at the folder's next start; deleted by a bucket's sweep).
            Log.BytesNotDeleted(logger, id, Redaction.Describe(e));
        }

        await events.PublishAsync(new ImageDeleted(id));
        return image;
    }

    /// <summary>The stored JPEG, open for streaming (seekable, for ranges); null when its bytes are gone (deleted meanwhile).</summary>
    public Task<Stream?> OpenOriginalAsync(StoredImage image, CancellationToken cancellationToken) =>
        blobs.OpenOriginalAsync(image.Id, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "The catalog answered the insert of image {ImageId} with {Failure}, yet it holds the row: the upload stands")]
        public static partial void CommittedAfterAll(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "The catalog could not say whether image {ImageId} was recorded ({Failure}); its file is kept for the next start to settle")]
        public static partial void KeptUnknown(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "The bytes of image {ImageId}, which is not listed, could not be deleted ({Failure}); they are settled as a leftover later")]
        public static partial void BytesNotDeleted(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} was deleted and its content blocked: the same upload is refused from now on")]
        public static partial void Blocked(ILogger logger, Guid imageId);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} is listed but its file is gone; answering as not found")]
        public static partial void FileGone(ILogger logger, Guid imageId);
    }
}
