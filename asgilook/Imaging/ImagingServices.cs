using Asgilook.Configuration;
using Asgilook.Operations;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Imaging;

public static class ImagingServices
{
    /// <summary>The image engine (libvips) and the work queue its conversions and thumbnails run on.</summary>
    public static IServiceCollection AddImaging(this IServiceCollection services)
    {
        services.TryAddSingleton<IImageProcessor, VipsImageProcessor>();
        services.TryAddSingleton(provider =>
        {
            var settings = provider.Settings();
            var queue = new ImageWorkQueue(settings.ImageWorkers > 0 ? settings.ImageWorkers : Environment.ProcessorCount, settings.ImageQueueLength);
            provider.GetRequiredService<AsgilookMetrics>().Observe(queue);
            return queue;
        });
        return services;
    }
}
