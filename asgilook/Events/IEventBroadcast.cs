using Asgilook.Storage;

namespace Asgilook.Events;

/// <summary>How uploads and deletes reach the listeners of the other instances.</summary>
public interface IEventBroadcast
{
    /// <summary>What carries the events, for the startup log.</summary>
    string Description { get; }

    /// <summary>Starts receiving the other instances' events, handing each to <paramref name="receive"/>.</summary>
    Task StartAsync(Action<ImageEvent> receive, CancellationToken cancellationToken);

    Task StopAsync();

    /// <summary>Tells the other instances, without waiting: a listener missing an event is not worth failing an upload.</summary>
    void Send(ImageEvent item);
}

/// <summary>One instance: its listeners are all in this process, so there is no one else to tell.</summary>
public sealed class NoBroadcast : IEventBroadcast
{
    public string Description => "this instance only";

    public Task StartAsync(Action<ImageEvent> receive, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync() => Task.CompletedTask;

    public void Send(ImageEvent item)
    {
    }
}
