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
    /// Refuses an upload with a key that stores all its quota already (before the body is read, with no
    /// <paramref name="bytes"/>) or that this image would take past it (before the moderation hook is asked). Whether an
    /// image fits is decided again, exactly, when its row is added.
    /// </summary>
    /// <exception cref="QuotaExceededException">The key has reached a limit, or this image would pass one.</exception>
    public async Task ThrowIfPastQuotaAsync(string? keyId, long? bytes, CancellationToken cancellationToken)
    {
        if (keyId is null || options.Value.Quotas.Quota is not { Limits: true } quota)
        {
            return;
        }

        var usage = await catalog.UsageAsync(keyId, cancellationToken);
        if ((bytes is { } added ? quota.PassedBy(usage, added) : quota.ReachedBy(usage)) is { } limit)
        {
            throw new QuotaExceededException(limit, usage, quota);
        }
    }

    /// <summary>The image, or null when it is unknown or its file is gone.</summary>
    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is not null && blobs.KnownMissing(image.Blob))
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

        if (moderation.Configured)
        {
            // Not shown to a hook (which may charge by the call) when it cannot fit; without one, the catalog's own check
            // refuses it before any byte is written.
            await ThrowIfPastQuotaAsync(ownership.OwnerKeyId, converted.Jpeg.Length, cancellationToken);
            await moderation.ReviewAsync(id, ownership.OwnerKeyId, converted, cancellationToken);
        }

        var image = await AddStoringBytesOnceAsync(
            new StoredImage(id, converted.Width, converted.Height, clock.GetUtcNow(), converted.Jpeg.Length,
                conversion.Sha256, ownership.DeleteTokenHash, ownership.OwnerKeyId, conversion.Placeholder, Frames: converted.Animation?.Frames),
            converted);
        await events.PublishAsync(ImageUploaded.Of(image));
        return image;
    }

    /// <summary>
    /// Lists the image, its bytes stored once: when an image of the same content is listed, the row names its bytes and
    /// nothing is written; otherwise its own bytes are written first and the row follows them (and should another upload
    /// of this content have been listed meanwhile, the row names that one's bytes and these go).
    /// </summary>
    private async Task<StoredImage> AddStoringBytesOnceAsync(StoredImage image, ConvertedImage converted)
    {
        var quota = options.Value.Quotas.Quota;
        // Not cancellable from here on: bytes written must be followed by their row, or go.
        var added = await AddRowAsync(image, quota, bytesWritten: false);
        if (added.Result == AddResult.NeedsBytes)
        {
            await blobs.WriteAsync(image.Id, converted.Jpeg, converted.Animation?.Webp, CancellationToken.None);

            added = await AddRowAsync(image, quota, bytesWritten: true);
            if (added.Result != AddResult.Added || added.Blob != image.Id)
            {
                await ForgetBytesAsync(image.Id);
            }
        }

        if (added is { Result: AddResult.PastQuota, Usage: { } usage })
        {
            throw new QuotaExceededException(quota.PassedBy(usage, image.ByteLength)!.Value, usage, quota);
        }

        return image with { BlobId = added.Blob == image.Id ? null : added.Blob };
    }
    // end snippet

    /// <summary>Adds the row; when the catalog fails, finds out whether it was added after all (<see cref="ListedAfterFailedInsertAsync"/>).</summary>
    private async Task<AddOutcome> AddRowAsync(StoredImage image, Quota quota, bool bytesWritten)
    {
        try
        {
            return await catalog.AddAsync(image, quota, bytesWritten, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new AddOutcome(AddResult.Added, (await ListedAfterFailedInsertAsync(image, e, bytesWritten)).Blob);
        }
    }

    /// <summary>
    /// After a failed insert the row may be there after all (an insert can commit and time out before it is
    /// acknowledged): then the upload stands. Otherwise the failure is thrown and the bytes written for it go, unless
    /// the catalog cannot say: they are then a leftover settled later, never a listed image without its bytes.
    /// </summary>
    /// <exception cref="StorageFullException">The insert failed for a full disk.</exception>
    private async Task<StoredImage> ListedAfterFailedInsertAsync(StoredImage image, Exception failure, bool bytesWritten)
    {
        var certainlyNotListed = NeverReachedTheDatabase(failure);
        if (!certainlyNotListed)
        {
            try
            {
                if (await catalog.GetAsync(image.Id, CancellationToken.None) is { } listed)
                {
                    Log.CommittedAfterAll(logger, image.Id, Redaction.Describe(failure));
                    return listed;
                }

                certainlyNotListed = true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.KeptUnknown(logger, image.Id, Redaction.Describe(e));
            }
        }

        if (certainlyNotListed && bytesWritten)
        {
            await ForgetBytesAsync(image.Id);
        }

        if (StorageFullException.IsDiskFull(failure))
        {
            throw new StorageFullException(failure);
        }

        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        throw new UnreachableException();
    }

    /// <summary>
    /// Deletes bytes no listed image uses (the row is gone, so the image is: its answers go too); if that fails, they are
    /// a leftover, settled later (quarantined at the folder's next start; deleted by a bucket's sweep).
    /// </summary>
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
    /// re-upload slips in between), and remove every other image of that content: blocked content is taken down whole.</param>
    public async Task<StoredImage?> DeleteAsync(Guid id, bool block, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is null)
        {
            return null;
        }

        if (!block)
        {
            return await RemoveAsync(id, cancellationToken) ? image : null;
        }

        await catalog.BlockAsync(image.Sha256, id, clock.GetUtcNow(), cancellationToken);
        var removed = await RemoveAsync(id, cancellationToken);
        var copies = 0;
        foreach (var copy in await catalog.ImagesWithContentAsync(image.Sha256, cancellationToken))
        {
            copies += await RemoveAsync(copy, cancellationToken) ? 1 : 0;
        }

        Log.Blocked(logger, id, copies);
        return removed ? image : null;
    }

    /// <summary>Removes the row, then the bytes when no other image uses them, and tells the listeners; false when it was gone already.</summary>
    private async Task<bool> RemoveAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await catalog.DeleteAsync(id, cancellationToken) is not { } removed)
        {
            return false;
        }

        if (removed.BlobUnused)
        {
            // The last image using these bytes is gone (other uploads of the same content share them until then).
            await ForgetBytesAsync(removed.Blob);
        }

        await events.PublishAsync(new ImageDeleted(id));
        return true;
    }

    /// <summary>The stored JPEG, open for streaming (seekable, for ranges); null when its bytes are gone (deleted meanwhile).</summary>
    public Task<Stream?> OpenOriginalAsync(StoredImage image, CancellationToken cancellationToken) =>
        blobs.OpenOriginalAsync(image.Blob, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "The catalog answered the insert of image {ImageId} with {Failure}, yet it holds the row: the upload stands")]
        public static partial void CommittedAfterAll(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "The catalog could not say whether image {ImageId} was recorded ({Failure}); its file is kept for the next start to settle")]
        public static partial void KeptUnknown(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "The bytes of image {ImageId}, which is not listed, could not be deleted ({Failure}); they are settled as a leftover later")]
        public static partial void BytesNotDeleted(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} was deleted and its content blocked, with {Copies} other upload(s) of it: the same upload is refused from now on")]
        public static partial void Blocked(ILogger logger, Guid imageId, int copies);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} is listed but its file is gone; answering as not found")]
        public static partial void FileGone(ILogger logger, Guid imageId);
    }
}
