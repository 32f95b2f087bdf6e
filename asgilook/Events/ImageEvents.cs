using System.Threading.Channels;
using Asgilook.Images;

namespace Asgilook.Events;

/// <summary>Something that happened to an image: an upload (the image) or a delete (its id).</summary>
public sealed record ImageEvent(string Type, object Data)
{
    public const string Uploaded = "image";
    public const string Deleted = "deleted";
}

/// <summary>
/// Uploads and deletes, told to everyone listening on <c>GET /events</c> in this process and, through
/// the broadcast, in the other instances. Each listener has a bounded queue: one too slow to keep up
/// loses its oldest events rather than holding memory.
/// </summary>
public sealed class ImageEvents(IEventBroadcast broadcast, ILogger<ImageEvents> logger) : IHostedService
{
    private const int QueuePerListener = 256;
    private readonly Lock _lock = new();
    private readonly List<Channel<ImageEvent>> _listeners = [];

    public int Listeners
    {
        get
        {
            lock (_lock)
            {
                return _listeners.Count;
            }
        }
    }

    public void Uploaded(ImageResource image) => Publish(new ImageEvent(ImageEvent.Uploaded, image));

    public void Deleted(Guid id) => Publish(new ImageEvent(ImageEvent.Deleted, new { id = id.ToString() }));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await broadcast.StartAsync(Deliver, cancellationToken);
        logger.LogInformation("Image events: {EventBroadcast}", broadcast.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => broadcast.StopAsync();

    public async IAsyncEnumerable<ImageEvent> ListenAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<ImageEvent>(new BoundedChannelOptions(QueuePerListener) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_lock)
        {
            _listeners.Add(channel);
        }

        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return item;
            }
        }
        finally
        {
            lock (_lock)
            {
                _listeners.Remove(channel);
            }
        }
    }

    private void Publish(ImageEvent item)
    {
        Deliver(item);
        broadcast.Send(item);
    }

    private void Deliver(ImageEvent item)
    {
        lock (_lock)
        {
            foreach (var listener in _listeners)
            {
                listener.Writer.TryWrite(item);
            }
        }
    }
}
