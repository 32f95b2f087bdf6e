using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Redis;

public static class RedisServices
{
    /// <summary>The one Redis connection (when <c>Asgilook:RedisHost</c> is set) and its lifetime.</summary>
    public static IServiceCollection AddRedis(this IServiceCollection services)
    {
        services.TryAddSingleton<RedisConnection>();
        services.AddHostedService<RedisLifetime>();
        return services;
    }
}
