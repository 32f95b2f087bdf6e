using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.Storage;

namespace Asgilook.Thumbnails;

/// <summary>One thumbnail of one stored image, with its ETag (computed once: it names the kept render too).</summary>
/// <param name="Animated">Every frame of an animated image (its WebP thumbnails), rather than the first.</param>
public sealed record Thumbnail(StoredImage Image, int Width, int Height, ThumbnailFormat Format, string ETag, bool Animated = false)
{
    public string MediaType => Format.MediaType();

    /// <summary>
    /// The kept render's file name: its size, and a hash of its ETag (the image, the size, the engine and the encoder), so
    /// that another engine or encoder setting never serves an older render.
    /// </summary>
    public string KeptName { get; } =
        $"{Width}x{Height}.{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ETag)))[..16]}.{Format.Extension()}";

    /// <summary>What the render queue (and the render rate limit) charges: the thumbnail's pixels, in every frame it has.</summary>
    public long Pixels => (long)Width * Height * (Animated ? Image.Frames ?? 1 : 1);
}

/// <summary>
/// Renders thumbnails on the image workers and keeps each render beside its image (in the folder or the bucket), so that
/// it is rendered once for the image's lifetime (by any instance, across restarts); reads a kept render back as a stream.
/// </summary>
public sealed partial class ThumbnailRenderer(
    IBlobStore blobs, ImageStore store, IImageProcessor processor, ImageWork work, AsgilookMetrics metrics, ILogger<ThumbnailRenderer> logger)
{
    /// <summary>How many renders may be on their way to a bucket at once.</summary>
    public const int MaxKeepsInFlight = 32;

    private readonly SemaphoreSlim _keeping = new(MaxKeepsInFlight);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _inFlight = new();

    /// <summary>The formats this server renders thumbnails in.</summary>
    public IReadOnlyCollection<ThumbnailFormat> Formats => processor.ThumbnailFormats;

    /// <summary>The thumbnail, with its ETag: the stored image's hash, the size, the engine and the format's encoder settings.</summary>
    public Thumbnail Describe(StoredImage image, int width, int height, ThumbnailFormat format)
    {
        // An animated image's WebP thumbnails are animated (when this engine keeps animations); its JPEG and AVIF are its first frame.
        var animated = format == ThumbnailFormat.Webp && image.Frames > 1 && processor.Animates;
        var encoder = processor.EncoderOf(format) + (animated ? "-animated" : "");
        return new(image, width, height, format, ThumbnailSeries.ETag(image, width, height, processor.Version, encoder), animated);
    }

    /// <summary>
    /// The thumbnail as rendered before, open for streaming; null when it never was. It was checked whole when it was
    /// written; here a few small reads tell that it is still that file (one truncated, emptied or replaced is deleted,
    /// logged and rendered again), whatever its size: nothing is read whole to answer.
    /// </summary>
    /// <remarks>
    /// A bucket that cannot be reached (or was just found so) has no kept render to offer: the thumbnail is rendered
    /// instead, from this instance's copy of the original when it has one.
    /// </remarks>
    public async Task<Stream?> OpenKeptAsync(Thumbnail thumbnail, CancellationToken cancellationToken)
    {
        var name = thumbnail.KeptName;
        Stream? kept;
        try
        {
            kept = blobs.AwayReason is null ? await blobs.OpenRenderAsync(thumbnail.Image.Blob, name, cancellationToken) : null;
        }
        catch (StoreUnavailableException)
        {
            kept = null;
        }

        if (kept is null)
        {
            return null;
        }

        if (!FileStructure.LooksWhole(thumbnail.Format.Loader(), kept))
        {
            // Not what this service wrote (a disk error, a hand edit): never served; rendered and kept again.
            await kept.DisposeAsync();
            Log.RenderDamaged(logger, thumbnail.Image.Id);
            await blobs.DeleteRenderAsync(thumbnail.Image.Blob, name, cancellationToken);
            return null;
        }

        metrics.ThumbnailRead();
        return kept;
    }

    /// <summary>The kept render's bytes, when there is one no larger than <paramref name="maxBytes"/>.</summary>
    public Task<byte[]?> ReadKeptAsync(Thumbnail thumbnail, int maxBytes) =>
        blobs.ReadRenderAsync(thumbnail.Image.Blob, thumbnail.KeptName, maxBytes, CancellationToken.None);

    /// <summary>
    /// Renders the thumbnail on an image worker and keeps it beside the image; null when the image was deleted meanwhile.
    /// <c>Whole</c> says the render is exactly one whole file of its format (checked once, for the kept file and the cache).
    /// </summary>
    /// <param name="client">Who asked: the render queue shares its workers between clients, by the thumbnail's pixels.</param>
    /// <exception cref="ServerBusyException">Too much image work is waiting already.</exception>
    /// <exception cref="ClientBusyException">This client has as many renders waiting as one client may.</exception>
    public async Task<(RenderedThumbnail Rendered, bool Whole)?> RenderAsync(Thumbnail thumbnail, string client)
    {
        var animation = thumbnail.Animated ? await ReadAnimationAsync(thumbnail.Image) : null;
        var jpeg = animation is null ? await blobs.ReadOriginalAsync(thumbnail.Image.Blob, CancellationToken.None) : null;
        if (animation is null && jpeg is null)
        {
            return null; // deleted (maybe by another process) since it was looked up
        }

        // Not cancelled with the request: others (in any instance) may be waiting for this rendering.
        var queued = Stopwatch.StartNew();
        var rendered = await work.Renders.RunAsync(new WorkTicket(client, thumbnail.Pixels), () =>
        {
            var waited = queued.Elapsed;
            var made = animation is not null
                ? processor.AnimatedThumbnail(animation, thumbnail.Width, thumbnail.Height)
                : processor.Thumbnail(jpeg!, thumbnail.Width, thumbnail.Height, thumbnail.Format);
            return made with { Queue = waited };
        }, CancellationToken.None);
        metrics.ThumbnailRendered(rendered.Resize + rendered.Encode);
        var whole = FileStructure.IsExactlyOneFile(thumbnail.Format.Loader(), rendered.Bytes);
        if (whole && !blobs.IsRemote)
        {
            await KeepAsync(thumbnail, rendered.Bytes);
        }
        else if (whole)
        {
            KeepAfterwards(thumbnail, rendered.Bytes);
        }

        return (rendered, whole);
    }

    /// <summary>The animation kept beside an animated image's original; null (and logged) when it is gone: its first frame is rendered instead.</summary>
    private async Task<byte[]?> ReadAnimationAsync(StoredImage image)
    {
        var animation = await blobs.ReadRenderAsync(image.Blob, BlobKeys.Animation, Array.MaxLength, CancellationToken.None);
        if (animation is null)
        {
            Log.AnimationGone(logger, image.Id);
        }

        return animation;
    }

    /// <summary>
    /// Keeps the render in a bucket while it is answered: a PUT and a HEAD are two round trips no thumbnail should wait
    /// for (the fill lock and the cache already make it rendered once). At most <see cref="MaxKeepsInFlight"/> at once,
    /// so a slow bucket cannot pile renders up in memory: past that, a render is not kept (it is rendered again later).
    /// </summary>
    private void KeepAfterwards(Thumbnail thumbnail, byte[] bytes)
    {
        if (!_keeping.Wait(0))
        {
            Log.RenderNotKept(logger, thumbnail.Image.Id, "too many renders being kept");
            return;
        }

        var keeping = Task.Run(async () =>
        {
            try
            {
                await KeepAsync(thumbnail, bytes);
            }
            finally
            {
                _keeping.Release();
            }
        });
        _inFlight[keeping] = 0;
        keeping.ContinueWith(done => _inFlight.TryRemove(done, out _), TaskScheduler.Default);
    }

    /// <summary>Waits (up to <paramref name="timeout"/>) for the renders being kept: at shutdown, and for tests.</summary>
    public Task KeptAsync(TimeSpan timeout) => Task.WhenAll(_inFlight.Keys).WaitAsync(timeout).ContinueWith(_ => { }, TaskScheduler.Default);

    /// <summary>
    /// Keeps a whole render unless the disk is short of room (a render that cannot be kept is still served): checked
    /// whole before it is written, a kept render's reads need not check it again.
    /// </summary>
    private async Task KeepAsync(Thumbnail thumbnail, byte[] bytes)
    {
        if (!store.HasRoomForUploads())
        {
            return;
        }

        try
        {
            await blobs.WriteRenderAsync(thumbnail.Image.Blob, thumbnail.KeptName, bytes, CancellationToken.None);
        }
        catch (StoreUnavailableException e)
        {
            Log.RenderNotKept(logger, thumbnail.Image.Id, e.Reason);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.RenderNotKept(logger, thumbnail.Image.Id, Redaction.Describe(e));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Image {ImageId} is animated but its kept animation is gone; its WebP thumbnails are its first frame")]
        public static partial void AnimationGone(ILogger logger, Guid imageId);

        [LoggerMessage(LogLevel.Warning, "A kept thumbnail of image {ImageId} is not a whole image; it is rendered again")]
        public static partial void RenderDamaged(ILogger logger, Guid imageId);

        [LoggerMessage(LogLevel.Warning, "A thumbnail of image {ImageId} was served but could not be kept ({Failure}); it will be rendered again")]
        public static partial void RenderNotKept(ILogger logger, Guid imageId, string failure);
    }
}
