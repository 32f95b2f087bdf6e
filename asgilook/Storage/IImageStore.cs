namespace Asgilook.Storage;

/// <summary>
/// Where uploaded images and their metadata live. The resources talk only to this interface;
/// the store talks to the image engine.
/// </summary>
public interface IImageStore
{
    /// <summary>Prepares the storage (creates the folder); run once at startup.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Every stored image, oldest upload first.</summary>
    Task<IReadOnlyList<StoredImage>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Converts the upload to JPEG and stores it under <paramref name="id"/>.</summary>
    /// <exception cref="Imaging.UnreadableImageException">The upload is not a readable image.</exception>
    Task<StoredImage> SaveAsync(Guid id, byte[] upload, CancellationToken cancellationToken);

    /// <summary>The full path of the stored JPEG, for streaming it from disk.</summary>
    string PathOf(StoredImage image);

    Task<byte[]> MakeThumbnailAsync(StoredImage image, int width, int height, CancellationToken cancellationToken);
}
