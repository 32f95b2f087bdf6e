using System.Text.Json;
using Asgilook.Caching;
using StackExchange.Redis;

namespace Asgilook.Events;

/// <summary>
/// Events shared through Redis pub/sub on <c>asgilook:events</c>, so that a page listening to any
/// instance sees uploads made on every other. Each message names the instance it came from, which
/// skips its own (its listeners were told directly). Pub/sub delivers to whoever is subscribed at that
/// moment: an event sent while Redis is away is lost, which costs a page a live update, never data.
/// </summary>
public sealed class RedisEventBroadcast(RedisConnection redis, ILogger<RedisEventBroadcast> logger) : IEventBroadcast
{
    public static readonly RedisChannel Channel = RedisChannel.Literal(ResponseCache.Prefix + "events");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private int _failing;

    public string Description => $"{redis.Description}, channel {Channel}";

    public async Task StartAsync(Action<ImageEvent> receive, CancellationToken cancellationToken)
    {
        await redis.OpenAsync(cancellationToken);
        try
        {
            await redis.Subscriber.SubscribeAsync(Channel, (_, message) =>
            {
                if (Read(message) is { } received && received.Origin != _instance)
                {
                    receive(new ImageEvent(received.Type, received.Data));
                }
            });
        }
        catch (RedisException e)
        {
            // The connection subscribes again by itself when Redis comes back.
            logger.LogWarning(e, "Could not subscribe to {Channel} yet; other instances' events arrive once Redis answers", Channel);
        }
    }

    public Task StopAsync() => redis.Subscriber.UnsubscribeAsync(Channel);

    public void Send(ImageEvent item)
    {
        var message = JsonSerializer.SerializeToUtf8Bytes(new Message(_instance, item.Type, JsonSerializer.SerializeToElement(item.Data, Json)), Json);
        _ = SendAsync(message);
    }

    private async Task SendAsync(byte[] message)
    {
        try
        {
            await redis.Subscriber.PublishAsync(Channel, message);
            Interlocked.Exchange(ref _failing, 0);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                logger.LogWarning(e, "Could not tell other instances about an upload or delete; their pages miss it live");
            }
        }
    }

    private Message? Read(RedisValue value)
    {
        try
        {
            return JsonSerializer.Deserialize<Message>((byte[])value!, Json);
        }
        catch (JsonException e)
        {
            logger.LogWarning(e, "Ignored a message on {Channel} that is not an Asgilook event", Channel);
            return null;
        }
    }

    private sealed record Message(string Origin, string Type, JsonElement Data);
}
