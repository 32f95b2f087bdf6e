using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Thumbnails;

public static class ThumbnailsServices
{
    /// <summary>The Thumbnails resource's pipeline (<see cref="ThumbnailPipeline"/>) and the renderer it falls back to.</summary>
    public static IServiceCollection AddThumbnails(this IServiceCollection services)
    {
        services.TryAddSingleton<ThumbnailRenderer>();
        services.TryAddSingleton<ThumbnailPipeline>();
        services.AddHostedService<KeptRendersAtShutdown>();
        return services;
    }
}
