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
    IOptions<AsgilookOptions> options, IImageCatalog catalog, ImageFiles files, IImageProcessor processor,
    ImageWorkQueue work, AsgilookMetrics metrics, TimeProvider clock, ILogger<ImageStore> logger)
{
    /// <summary>Prepares the storage and repairs what a crash left; run once at startup.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        files.CreateFolders();
        await catalog.MigrateAsync(cancellationToken);

        var catalogued = await catalog.AllIdsAsync(cancellationToken);
        var missing = catalogued.Where(id => !files.Exists(id)).ToList();
        foreach (var id in missing)
        {
            await catalog.DeleteAsync(id, cancellationToken);
        }

        var leftovers = files.RemoveLeftovers(catalogued, options.Value.LeftoverGracePeriod, clock.GetUtcNow());
        if (missing.Count > 0 || leftovers > 0)
        {
            Log.Repaired(logger, missing.Count, leftovers);
        }
    }

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
    public Task<ImagePage?> ListAsync(Guid? after, int? limit, CancellationToken cancellationToken) =>
        catalog.ListAsync(after, limit, cancellationToken);

    /// <summary>Converts the upload to JPEG and stores it under <paramref name="id"/>, with who may delete it.</summary>
    /// <exception cref="RejectedImageException">The upload is not an image Asgilook takes.</exception>
    /// <exception cref="ServerBusyException">Too much image work is waiting already.</exception>
    // snippet: save
    public async Task<StoredImage> SaveAsync(Guid id, byte[] upload, Ownership ownership, CancellationToken cancellationToken)
    {
        var conversion = Stopwatch.StartNew();
        var converted = await work.RunAsync(() => processor.ConvertToJpeg(upload, options.Value.MaxPixels), cancellationToken);
        metrics.UploadConverted(conversion.Elapsed);

        await files.WriteAsync(id, converted.Jpeg, cancellationToken);
        var image = new StoredImage(
            id, converted.Width, converted.Height, clock.GetUtcNow(), converted.Jpeg.Length,
            Convert.ToHexStringLower(SHA256.HashData(converted.Jpeg)), ownership.DeleteTokenHash, ownership.OwnerKeyId);
        try
        {
            // Not cancellable: once the file is in place, the row must follow it or the file must go.
            await catalog.AddAsync(image, CancellationToken.None);
        }
        catch
        {
            files.Delete(id);
            throw;
        }

        return image;
    }
    // end snippet

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

        files.Delete(id);
        return image;
    }

    /// <summary>The stored JPEG, open for streaming; null when its file is gone (deleted meanwhile).</summary>
    public FileStream? OpenOriginal(StoredImage image) => files.OpenRead(image.Id);

    /// <summary>The thumbnail's ETag, known before rendering: the stored image's hash, the size and the engine.</summary>
    public string ThumbnailETag(StoredImage image, int width, int height) => ThumbnailSeries.ETag(image, width, height, processor.Version);

    /// <summary>Renders the thumbnail on an image worker; null when the image was deleted meanwhile.</summary>
    /// <exception cref="ServerBusyException">Too much image work is waiting already.</exception>
    public async Task<RenderedThumbnail?> RenderThumbnailAsync(StoredImage image, int width, int height)
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
        var rendered = await work.RunAsync(() =>
        {
            var waited = queued.Elapsed;
            return processor.Thumbnail(jpeg, width, height) with { Queue = waited };
        }, CancellationToken.None);
        metrics.ThumbnailRendered(rendered.Resize + rendered.Encode);
        return rendered;
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Storage repaired at startup: {MissingFiles} listed image(s) without a file unlisted, {Leftovers} leftover file(s) removed")]
        public static partial void Repaired(ILogger logger, int missingFiles, int leftovers);

        [LoggerMessage(LogLevel.Warning, "Image {ImageId} is listed but its file is gone; answering as not found")]
        public static partial void FileGone(ILogger logger, Guid imageId);
    }
}
