using Asgilook.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Events;

public static class EventsServices
{
    /// <summary>Image events (<see cref="Storage.ImageEvent"/>): local handlers, <c>GET /events</c>, and Redis pub/sub between instances when Redis is configured.</summary>
    public static IServiceCollection AddImageEvents(this IServiceCollection services)
    {
        services.TryAddSingleton<IEventBroadcast>(provider => provider.GetRequiredService<RedisConnection>() is { Configured: true } redis
            ? new RedisEventBroadcast(redis, provider.GetRequiredService<ILogger<RedisEventBroadcast>>())
            : new NoBroadcast());
        services.TryAddSingleton<ImageEvents>();
        services.TryAddSingleton<Storage.IImageEventPublisher>(provider => provider.GetRequiredService<ImageEvents>());
        services.AddHostedService(provider => provider.GetRequiredService<ImageEvents>());
        return services;
    }
}
