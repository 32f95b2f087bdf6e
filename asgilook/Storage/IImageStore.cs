namespace Asgilook.Storage;

/// <summary>
/// Where uploaded images and their metadata live. The resources talk only to this interface;
/// the store talks to the image engine, the catalog and the files.
/// </summary>
public interface IImageStore
{
    /// <summary>Prepares the storage and repairs what a crash left; run once at startup.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The image, or null when it is unknown or its file is gone.</summary>
    Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <inheritdoc cref="IImageCatalog.ListAsync"/>
    Task<ImagePage?> ListAsync(Guid? after, int? limit, CancellationToken cancellationToken);

    /// <summary>Converts the upload to JPEG and stores it under <paramref name="id"/>.</summary>
    /// <exception cref="Imaging.RejectedImageException">The upload is not an image Asgilook takes.</exception>
    /// <exception cref="Imaging.ServerBusyException">Too much image work is waiting already.</exception>
    Task<StoredImage> SaveAsync(Guid id, byte[] upload, CancellationToken cancellationToken);

    /// <summary>Removes the image and returns what it was; null when it was unknown.</summary>
    Task<StoredImage?> DeleteAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>The full path of the stored JPEG, for streaming it from disk.</summary>
    string PathOf(StoredImage image);

    /// <summary>
    /// The thumbnail, or null when the image was deleted meanwhile. Concurrent calls for the same
    /// thumbnail share one rendering.
    /// </summary>
    /// <exception cref="Imaging.ServerBusyException">Too much image work is waiting already.</exception>
    Task<Thumbnail?> MakeThumbnailAsync(StoredImage image, int width, int height, CancellationToken cancellationToken);
}
