using System.Threading.Channels;
using Asgilook.Configuration;
using Asgilook.Images;
using Asgilook.Storage;
using Microsoft.Extensions.Options;

namespace Asgilook.Events;

/// <summary>Why a stream was refused.</summary>
public enum ListenRefusal
{
    /// <summary>This instance has <c>MaxEventListeners</c> streams open: 503.</summary>
    TooManyListeners,

    /// <summary>This client has <c>MaxEventListenersPerClient</c> streams open: 429.</summary>
    TooManyForClient,
}

/// <summary>
/// Image events: handed to this instance's <see cref="IImageEventHandler"/>s, told to everyone
/// listening on <c>GET /events</c> in this process (each event serialised once, for all of them) and,
/// through the broadcast, to the other instances. Streams are bounded in number, in all and per client,
/// and each has a bounded queue: one too slow to keep up loses its oldest events rather than holding memory.
/// </summary>
public sealed partial class ImageEvents(
    IEventBroadcast broadcast, IEnumerable<IImageEventHandler> handlers, ImageResources resources, IOptions<AsgilookOptions> options,
    ILogger<ImageEvents> logger) : IImageEventPublisher, IHostedService
{
    private const int QueuePerListener = 256;
    private readonly IImageEventHandler[] _handlers = [.. handlers];
    private readonly Lock _lock = new();
    private readonly List<Listener> _listeners = [];
    private readonly Dictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private long _framesSerialised;

    /// <summary>How many events were serialised for the streams: once each, however many listen.</summary>
    public long FramesSerialised => Interlocked.Read(ref _framesSerialised);

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

    /// <summary>Tells everyone of an event that happened here; the handlers are done when it returns.</summary>
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
        await broadcast.StartAsync(Receive, cancellationToken);
        Log.Started(logger, broadcast.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => broadcast.StopAsync();

    /// <summary>A new stream for <paramref name="client"/>, or why there is none; dispose it when the stream ends.</summary>
    public (Listener? Listener, ListenRefusal? Refusal) TryListen(string client)
    {
        var limits = options.Value;
        lock (_lock)
        {
            if (_listeners.Count >= limits.MaxEventListeners)
            {
                return (null, ListenRefusal.TooManyListeners);
            }

            var open = _perClient.GetValueOrDefault(client);
            if (open >= limits.MaxEventListenersPerClient)
            {
                return (null, ListenRefusal.TooManyForClient);
            }

            _perClient[client] = open + 1;
            var listener = new Listener(this, client);
            _listeners.Add(listener);
            return (listener, null);
        }
    }

    /// <summary>Another instance's event: this instance's handlers are told, then its streams.</summary>
    private void Receive(ImageEvent item)
    {
        foreach (var handler in _handlers)
        {
            handler.Received(item);
        }

        Deliver(item);
    }

    private void Deliver(ImageEvent item)
    {
        if (EventFrame.Of(item, resources) is not { } frame)
        {
            return;
        }

        Interlocked.Increment(ref _framesSerialised);
        lock (_lock)
        {
            foreach (var listener in _listeners)
            {
                listener.Frames.Writer.TryWrite(frame);
            }
        }
    }

    private void Remove(Listener listener)
    {
        lock (_lock)
        {
            if (_listeners.Remove(listener) && --_perClient[listener.Client] == 0)
            {
                _perClient.Remove(listener.Client);
            }
        }
    }

    /// <summary>One open stream's queue of frames.</summary>
    public sealed class Listener(ImageEvents events, string client) : IDisposable
    {
        private int _disposed;

        internal string Client { get; } = client;

        internal Channel<EventFrame> Frames { get; } =
            Channel.CreateBounded<EventFrame>(new BoundedChannelOptions(QueuePerListener) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public ChannelReader<EventFrame> Reader => Frames.Reader;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                events.Remove(this);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Image events: {EventBroadcast}")]
        public static partial void Started(ILogger logger, string eventBroadcast);
    }
}
