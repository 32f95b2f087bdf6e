using System.Threading.Channels;

namespace Asgilook.Events;

/// <summary>
/// Uploads and deletes: handed to this instance's <see cref="IImageEventHandler"/>s, told to everyone
/// listening on <c>GET /events</c> in this process and, through the broadcast, in the other instances.
/// Each listener has a bounded queue: one too slow to keep up loses its oldest events rather than holding memory.
/// </summary>
public sealed partial class ImageEvents(IEventBroadcast broadcast, IEnumerable<IImageEventHandler> handlers, ILogger<ImageEvents> logger) : IHostedService
{
    private const int QueuePerListener = 256;
    private readonly IImageEventHandler[] _handlers = [.. handlers];
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

    /// <summary>Tells everyone of an upload or delete made here; the handlers are done when it returns.</summary>
    public async Task PublishAsync(ImageEvent item)
    {
        foreach (var handler in _handlers)
        {
            await handler.HandleAsync(item);
        }

        Deliver(item);
        broadcast.Send(item);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await broadcast.StartAsync(Deliver, cancellationToken);
        Log.Started(logger, broadcast.Description);
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

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Image events: {EventBroadcast}")]
        public static partial void Started(ILogger logger, string eventBroadcast);
    }
}
