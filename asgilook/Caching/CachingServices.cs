using Asgilook.Configuration;
using Asgilook.Storage;
using Asgilook.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Caching;

public static class CachingServices
{
    /// <summary>
    /// The response cache: in Redis when <c>Asgilook:RedisHost</c> is set, otherwise in this process's
    /// memory within <c>MemoryCacheMegabytes</c>, with a memory tier of <c>MemoryTierMegabytes</c> in front of Redis; fills
    /// made once (<see cref="CacheFill"/>); and the evictions image events call for (<see cref="CacheInvalidation"/>).
    /// </summary>
    public static IServiceCollection AddResponseCache(this IServiceCollection services)
    {
        services.TryAddSingleton<ICacheStore>(provider => provider.GetRequiredService<RedisConnection>() is { Configured: true } redis
            ? new RedisCacheStore(redis)
            : new MemoryCacheStore(provider.Settings().MemoryCacheMegabytes * 1024L * 1024L, provider.GetRequiredService<TimeProvider>()));
        // Only in front of Redis: the in-process store is in memory already.
        services.TryAddSingleton(provider => new MemoryTier(
            provider.GetRequiredService<RedisConnection>().Configured ? provider.Settings().MemoryTierMegabytes * 1024L * 1024L : 0,
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ResponseCache>();
        services.AddHostedService(provider => provider.GetRequiredService<ResponseCache>());
        services.TryAddSingleton<CacheFill>();
        services.AddSingleton<IImageEventHandler, CacheInvalidation>();
        return services;
    }
}
