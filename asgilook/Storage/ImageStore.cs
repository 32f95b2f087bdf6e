using Asgilook.Imaging;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// The tutorial's store: JPEG files in the storage folder, indexed in memory in upload order.
/// Files are written to a temporary name and renamed into place, so a reader never sees half a JPEG.
/// </summary>
public sealed class ImageStore(IOptions<AsgilookOptions> options, IImageProcessor processor, TimeProvider clock) : IImageStore
{
    private readonly string _root = Path.GetFullPath(options.Value.StoragePath);
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, StoredImage> _byId = [];
    private readonly List<StoredImage> _inUploadOrder = [];

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_byId.GetValueOrDefault(id));
        }
    }

    public Task<IReadOnlyList<StoredImage>> ListAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<StoredImage>>([.. _inUploadOrder]);
        }
    }

    public async Task<StoredImage> SaveAsync(Guid id, byte[] upload, CancellationToken cancellationToken)
    {
        var converted = await Task.Run(() => processor.ConvertToJpeg(upload), cancellationToken);

        var path = PathOf(id);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await file.WriteAsync(converted.Jpeg, cancellationToken);
                await file.FlushAsync(cancellationToken);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        lock (_lock)
        {
            // The time is taken under the lock, so upload order and time order agree.
            var image = new StoredImage(id, converted.Width, converted.Height, clock.GetUtcNow());
            if (_byId.Remove(id, out var replaced))
            {
                _inUploadOrder.Remove(replaced);
            }

            _byId[id] = image;
            _inUploadOrder.Add(image);
            return image;
        }
    }

    public string PathOf(StoredImage image) => PathOf(image.Id);

    public async Task<byte[]> MakeThumbnailAsync(StoredImage image, int width, int height, CancellationToken cancellationToken)
    {
        var jpeg = await File.ReadAllBytesAsync(PathOf(image), cancellationToken);
        return await Task.Run(() => processor.Thumbnail(jpeg, width, height), cancellationToken);
    }

    private string PathOf(Guid id) => Path.Combine(_root, $"{id}.jpeg");
}
