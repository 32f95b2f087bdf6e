using NetVips;

namespace Asgilook;

/// <summary>A stored image as the API shows it.</summary>
public sealed record StoredImage(Guid Id, DateTimeOffset Modified, int Width, int Height)
{
    public string Uri => $"/images/{Id}.jpeg";

    public object Serialize() => new
    {
        id = Id,
        image = Uri,
        modified = Modified.ToString("R"),
        size = new[] { Width, Height },
    };
}

/// <summary>The tutorial's store.py: converts uploads to JPEG files and lists them.</summary>
public sealed class Store
{
    private readonly List<StoredImage> _images = [];
    private readonly Lock _lock = new();
    private readonly Config _config;

    public Store(Config config)
    {
        _config = config;
        Directory.CreateDirectory(config.StoragePath);
    }

    public StoredImage[] List()
    {
        lock (_lock)
        {
            return [.. _images];
        }
    }

    public StoredImage? Get(Guid id) => List().FirstOrDefault(image => image.Id == id);

    public string PathOf(Guid id) => Path.Combine(_config.StoragePath, $"{id}.jpeg");

    /// <summary>Any format libvips reads comes in, a JPEG goes out.</summary>
    /// <exception cref="VipsException">The upload is not an image libvips reads.</exception>
    public StoredImage Save(byte[] upload)
    {
        using var image = Image.NewFromBuffer(upload);
        // Encoded in memory first: an upload that fails halfway through decoding leaves no file behind.
        var jpeg = image.JpegsaveBuffer();
        var id = _config.NewId();
        File.WriteAllBytes(PathOf(id), jpeg);
        var stored = new StoredImage(id, DateTimeOffset.UtcNow, image.Width, image.Height);
        lock (_lock)
        {
            _images.Add(stored);
        }

        return stored;
    }
}
