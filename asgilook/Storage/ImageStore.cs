using System.Diagnostics;
using System.Security.Cryptography;
using Asgilook.Imaging;
using Asgilook.Operations;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// The image store: converts uploads, writes their files, records them in the catalog.
/// The order of the steps is what makes it crash-safe: a row is committed only after its file is
/// in place, and removed before its file is, so a listed image always has its file.
/// </summary>
public sealed class ImageStore(
    IOptions<AsgilookOptions> options, IImageCatalog catalog, ImageFiles files, IImageProcessor processor,
    ImageWorkQueue work, AsgilookMetrics metrics, TimeProvider clock, ILogger<ImageStore> logger) : IImageStore
{
    private readonly SingleFlight<(Guid, int, int), Thumbnail?> _rendering = new();

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
            logger.LogWarning(
                "Storage repaired at startup: {MissingFiles} listed image(s) without a file unlisted, {Leftovers} leftover file(s) removed",
                missing.Count, leftovers);
        }
    }

    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var image = await catalog.GetAsync(id, cancellationToken);
        if (image is not null && !files.Exists(id))
        {
            logger.LogWarning("Image {ImageId} is listed but its file is gone; answering as not found", id);
            return null;
        }

        return image;
    }

    public Task<ImagePage?> ListAsync(Guid? after, int? limit, CancellationToken cancellationToken) =>
        catalog.ListAsync(after, limit, cancellationToken);

    // snippet: save
    public async Task<StoredImage> SaveAsync(Guid id, byte[] upload, CancellationToken cancellationToken)
    {
        var conversion = Stopwatch.StartNew();
        var converted = await work.RunAsync(() => processor.ConvertToJpeg(upload, options.Value.MaxPixels), cancellationToken);
        metrics.UploadConverted(conversion.Elapsed);

        await files.WriteAsync(id, converted.Jpeg, cancellationToken);
        var image = new StoredImage(
            id, converted.Width, converted.Height, clock.GetUtcNow(), converted.Jpeg.Length,
            Convert.ToHexStringLower(SHA256.HashData(converted.Jpeg)));
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

    public string PathOf(StoredImage image) => files.PathOf(image.Id);

    public async Task<Thumbnail?> MakeThumbnailAsync(StoredImage image, int width, int height, CancellationToken cancellationToken)
    {
        var leader = false;
        var thumbnail = await _rendering.RunAsync((image.Id, width, height), () =>
        {
            leader = true;
            // Not cancelled with the first caller: others may be waiting for this rendering.
            return RenderAsync(image, width, height);
        });
        return leader || thumbnail is null ? thumbnail : thumbnail with { Shared = true };
    }

    private async Task<Thumbnail?> RenderAsync(StoredImage image, int width, int height)
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

        var queued = Stopwatch.StartNew();
        var rendered = await work.RunAsync(() => (Waited: queued.Elapsed, Result: processor.Thumbnail(jpeg, width, height)), CancellationToken.None);
        metrics.ThumbnailRendered(rendered.Result.Resize + rendered.Result.Encode);
        return new Thumbnail(rendered.Result.Jpeg, rendered.Waited, rendered.Result.Resize, rendered.Result.Encode, Shared: false);
    }
}
