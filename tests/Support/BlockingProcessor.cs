using Asgilook.Configuration;
using Asgilook.Imaging;
using Microsoft.Extensions.Options;

namespace Asgilook.Tests;

/// <summary>
/// The real image engine, whose conversions (or thumbnails) can be held at a gate, as long CPU work
/// would hold a worker; it counts the thumbnails it renders.
/// </summary>
public sealed class BlockingProcessor : IImageProcessor, IDisposable
{
    private readonly VipsImageProcessor _inner = new(Options.Create(new AsgilookOptions()));
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private readonly ManualResetEventSlim _thumbnailGate = new(initialState: true);
    private int _converting;
    private int _thumbnails;

    public string Name => _inner.Name;

    public string Version => _inner.Version;

    public IReadOnlyCollection<Asgilook.Imaging.ImageFormats.ImageLoader> Reads => _inner.Reads;

    public int Converting => Volatile.Read(ref _converting);

    /// <summary>Thumbnails rendered or being rendered.</summary>
    public int Thumbnails => Volatile.Read(ref _thumbnails);

    public void HoldThumbnails() => _thumbnailGate.Reset();

    public void ReleaseThumbnails() => _thumbnailGate.Set();

    public void Hold() => _gate.Reset();

    public void Release() => _gate.Set();

    public ConvertedImage ConvertToJpeg(byte[] data, long maxPixels)
    {
        Interlocked.Increment(ref _converting);
        try
        {
            _gate.Wait(TimeSpan.FromSeconds(30));
            return _inner.ConvertToJpeg(data, maxPixels);
        }
        finally
        {
            Interlocked.Decrement(ref _converting);
        }
    }

    public IReadOnlyCollection<ThumbnailFormat> ThumbnailFormats => _inner.ThumbnailFormats;

    public Placeholder MakePlaceholder(byte[] jpeg) => _inner.MakePlaceholder(jpeg);

    public string EncoderOf(ThumbnailFormat format) => _inner.EncoderOf(format);

    public bool Animates => _inner.Animates;

    public RenderedThumbnail AnimatedThumbnail(byte[] animation, int width, int height) => _inner.AnimatedThumbnail(animation, width, height);

    public RenderedThumbnail Thumbnail(byte[] jpeg, int width, int height, ThumbnailFormat format = ThumbnailFormat.Jpeg)
    {
        Interlocked.Increment(ref _thumbnails);
        _thumbnailGate.Wait(TimeSpan.FromSeconds(30));
        return _inner.Thumbnail(jpeg, width, height, format);
    }

    public void Dispose()
    {
        _gate.Dispose();
        _thumbnailGate.Dispose();
    }
}
