using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.RateLimiting;

public static class RateLimitingServices
{
    /// <summary>Per-client upload and render budgets, in Redis when it is configured.</summary>
    public static IServiceCollection AddRateLimits(this IServiceCollection services)
    {
        services.TryAddSingleton<RateLimits>();
        return services;
    }
}
