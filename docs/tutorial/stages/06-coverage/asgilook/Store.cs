using NetVips;

namespace Asgilook;

/// <summary>A stored image as the API shows it.</summary>
public sealed record StoredImage(Guid Id, DateTimeOffset Modified, int Width, int Height)
{
    public string Uri => $"/images/{Id}.jpeg";

    /// <summary>Each about half the previous, while both sides stay at or above the minimum.</summary>
    public IEnumerable<(int Width, int Height)> ThumbnailSizes(int minSize)
    {
        for (var factor = 2; Width / factor >= minSize && Height / factor >= minSize; factor *= 2)
        {
            yield return (Width / factor, Height / factor);
        }
    }

    public object Serialize(int minSize) => new
    {
        id = Id,
        image = Uri,
        modified = Modified.ToString("R"),
        size = new[] { Width, Height },
        thumbnails = ThumbnailSizes(minSize).Select(size => $"/thumbnails/{Id}/{size.Width}x{size.Height}.jpeg"),
    };
}

/// <summary>The tutorial's store.py: converts uploads to JPEG files, lists them, renders thumbnails.</summary>
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

    /// <summary>Exactly width × height: shrunk on load, then cropped to fill.</summary>
    public byte[] MakeThumbnail(StoredImage image, int width, int height)
    {
        using var thumbnail = Image.Thumbnail(PathOf(image.Id), width, height: height, crop: Enums.Interesting.Centre);
        return thumbnail.JpegsaveBuffer();
    }
}
