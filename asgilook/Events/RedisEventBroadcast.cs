using System.Globalization;
using System.Text.Json;
using Asgilook.Images;
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
public sealed partial class RedisEventBroadcast(
    RedisConnection redis, Thumbnails.ThumbnailLadder ladder, IReadOnlyCollection<Imaging.ThumbnailFormat> formats, ILogger<RedisEventBroadcast> logger) : IEventBroadcast
{
    /// <summary>The largest side a received image may claim (a real one is far smaller: MaxPixels bounds it).</summary>
    private const int MaxSide = 1_000_000;

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
        var message = JsonSerializer.SerializeToUtf8Bytes(new Message(_instance, item.Type, item.Image), Json);
        _ = SendAsync(message);
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

    private (string Origin, ImageEvent Event)? Read(RedisValue value)
    {
        try
        {
            var message = JsonSerializer.Deserialize<Message>((byte[])value!, Json);
            var image = message is { Origin: not null, Image: not null } ? Rebuild(message.Image) : null;
            ImageEvent? item = image is null ? null : message!.Type switch
            {
                ImageUploaded.Name => new ImageUploaded(image),
                ImageDeleted.Name => new ImageDeleted(image),
                _ => null,
            };
            if (item is not null)
            {
                return (message!.Origin!, item);
            }
        }
        catch (JsonException)
        {
        }

        Log.Foreign(logger, RedisKeys.Events.ToString());
        return null;
    }

    /// <summary>
    /// Whoever can publish on the channel can put anything in a message, and pages set links from what an
    /// event says: only its id, size, time and placeholder are read, each checked, and the URIs are built anew from them.
    /// </summary>
    private ImageResource? Rebuild(ImageResource received)
    {
        if (!Guid.TryParse(received.Id, out var id)
            || received.Size is not [var width and > 0 and <= MaxSide, var height and > 0 and <= MaxSide]
            || !DateTimeOffset.TryParseExact(received.Modified, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var modified))
        {
            return null;
        }

        // A placeholder goes into a page's styles: only one of the shape Asgilook makes passes.
        return ImageResource.From(id, modified, width, height, ladder, formats, Placeholders.IsWellFormed(received.Placeholder) ? received.Placeholder : null);
    }

    private sealed record Message(string? Origin, string? Type, ImageResource? Image);

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
