using Asgilook.Configuration;
using Asgilook.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Events;

public static class EventsServices
{
    /// <summary>Upload and delete events: local handlers, <c>GET /events</c>, and Redis pub/sub between instances when Redis is configured.</summary>
    public static IServiceCollection AddImageEvents(this IServiceCollection services)
    {
        services.TryAddSingleton<IEventBroadcast>(provider => provider.GetRequiredService<RedisConnection>() is { Configured: true } redis
            ? new RedisEventBroadcast(
                redis, Thumbnails.ThumbnailLadder.Of(provider.Settings()), provider.GetRequiredService<Imaging.IImageProcessor>().ThumbnailFormats,
                provider.GetRequiredService<ILogger<RedisEventBroadcast>>())
            : new NoBroadcast());
        services.TryAddSingleton<ImageEvents>();
        services.AddHostedService(provider => provider.GetRequiredService<ImageEvents>());
        return services;
    }
}
