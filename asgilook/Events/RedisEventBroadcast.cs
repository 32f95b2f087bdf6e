using System.Globalization;
using System.Text.Json;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.Redis;
using Asgilook.Storage;
using StackExchange.Redis;

namespace Asgilook.Events;

/// <summary>
/// Events shared through Redis pub/sub on <see cref="RedisKeys.Events"/>, so that a page listening to any
/// instance sees uploads made on every other. Each message names the instance it came from, which
/// skips its own (its listeners were told directly). Pub/sub delivers to whoever is subscribed at that
/// moment: an event sent while Redis is away is lost, which costs a page a live update, never data.
/// </summary>
public sealed partial class RedisEventBroadcast(RedisConnection redis, ILogger<RedisEventBroadcast> logger) : IEventBroadcast
{
    /// <summary>The largest side a received image may claim (a real one is far smaller: MaxPixels bounds it).</summary>
    private const int MaxSide = 1_000_000;

    /// <summary>What happened, as a message names it.</summary>
    private const string Uploaded = "uploaded", Deleted = "deleted", Changed = "changed";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private int _failing;

    public string Description => $"{redis.Description}, channel {RedisKeys.Events}";

    public async Task StartAsync(Action<ImageEvent> receive, CancellationToken cancellationToken)
    {
        try
        {
            await redis.Subscriber.SubscribeAsync(RedisKeys.Events, (_, message) =>
            {
                if (Read(message) is { } received && received.Origin != _instance)
                {
                    receive(received.Event);
                }
            });
        }
        catch (RedisException e)
        {
            // The connection subscribes again by itself when Redis comes back.
            Log.NotSubscribed(logger, RedisKeys.Events.ToString(), Redaction.Describe(e));
        }
    }

    public Task StopAsync() => redis.Subscriber.UnsubscribeAsync(RedisKeys.Events);

    public void Send(ImageEvent item)
    {
        var message = item switch
        {
            ImageUploaded uploaded => new Message(_instance, Uploaded, uploaded.ImageId.ToString(), uploaded.Width, uploaded.Height,
                uploaded.Modified.ToString("R", CultureInfo.InvariantCulture), uploaded.Placeholder),
            ImageDeleted => new Message(_instance, Deleted, item.ImageId.ToString()),
            _ => new Message(_instance, Changed, item.ImageId.ToString()),
        };
        _ = SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, Json));
    }

    private async Task SendAsync(byte[] message)
    {
        try
        {
            await redis.Subscriber.PublishAsync(RedisKeys.Events, message);
            Interlocked.Exchange(ref _failing, 0);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                Log.NotSent(logger, Redaction.Describe(e));
            }
        }
    }

    /// <summary>
    /// Whoever can publish on the channel can put anything in a message, and pages set links from what an event says:
    /// a message is only facts (an id, a size, a time, a placeholder), each checked; the URIs are built here, anew.
    /// </summary>
    private (string Origin, ImageEvent Event)? Read(RedisValue value)
    {
        try
        {
            var message = JsonSerializer.Deserialize<Message>((byte[])value!, Json);
            if (message is { Origin: { } origin, Id: { } text } && Guid.TryParse(text, out var id)
                && (message.Type switch
                {
                    Uploaded => (ImageEvent?)Uploads(message, id),
                    Deleted => new ImageDeleted(id),
                    Changed => new ImageChanged(id),
                    _ => null,
                }) is { } item)
            {
                return (origin, item);
            }
        }
        catch (JsonException)
        {
        }

        Log.Foreign(logger, RedisKeys.Events.ToString());
        return null;
    }

    private static ImageUploaded? Uploads(Message message, Guid id)
    {
        if (message is not { Width: > 0 and <= MaxSide and var width, Height: > 0 and <= MaxSide and var height }
            || !DateTimeOffset.TryParseExact(message.Modified, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var modified))
        {
            return null;
        }

        // A placeholder goes into a page's styles: only one of the shape Asgilook makes passes.
        return new ImageUploaded(id, width, height, modified, Placeholders.IsWellFormed(message.Placeholder) ? message.Placeholder : null);
    }

    /// <summary>An event as it travels: the instance it came from, what happened, and the facts of it.</summary>
    private sealed record Message(
        string? Origin, string? Type, string? Id, int? Width = null, int? Height = null, string? Modified = null, Placeholder? Placeholder = null);

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Could not subscribe to {Channel} yet ({Reason}); other instances' events arrive once Redis answers")]
        public static partial void NotSubscribed(ILogger logger, string channel, string reason);

        [LoggerMessage(LogLevel.Warning, "Could not tell other instances about an upload or delete ({Reason}); their pages miss it live")]
        public static partial void NotSent(ILogger logger, string reason);

        [LoggerMessage(LogLevel.Warning, "Ignored a message on {Channel} that is not an Asgilook event")]
        public static partial void Foreign(ILogger logger, string channel);
    }
}
