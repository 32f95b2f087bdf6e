using Asgilook.Configuration;
using Asgilook.Operations;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Imaging;

public static class ImagingServices
{
    /// <summary>The image engine (<c>Asgilook:ImageEngine</c>) and the work queues its conversions and thumbnails run on.</summary>
    public static IServiceCollection AddImaging(this IServiceCollection services)
    {
        NativeHeap.MapLargeBlocks();
        services.TryAddSingleton<IImageProcessor>(provider => provider.Settings().ImageEngine switch
        {
            ImageEngine.ImageSharp => ActivatorUtilities.CreateInstance<ImageSharpImageProcessor>(provider),
            _ => ActivatorUtilities.CreateInstance<VipsImageProcessor>(provider),
        });
        services.TryAddSingleton<IUploadConverter>(provider => provider.Settings().UploadDecoding is UploadDecoding.InProcess
            ? ActivatorUtilities.CreateInstance<InProcessConverter>(provider)
            : provider.GetRequiredService<Sandbox.SandboxedConverter>());
        services.TryAddSingleton<Sandbox.SandboxedConverter>();
        services.TryAddSingleton(provider =>
        {
            var settings = provider.Settings();
            var workers = settings.ImageWorkers > 0 ? settings.ImageWorkers : Environment.ProcessorCount;
            const long Megapixel = 1_000_000;
            WorkShares SharesOf(long largestJob) => new(
                settings.ImageQueueMegapixels * Megapixel, settings.ImageQueuePerClient, settings.ImageQueueMegapixelsPerClient * Megapixel, largestJob / 4);
            var work = new ImageWork(
                new ImageWorkQueue("conversion", workers, settings.ImageQueueLength, SharesOf(settings.MaxPixels)),
                new ImageWorkQueue("render", workers, settings.ImageQueueLength, SharesOf(settings.MaxThumbnailPixels)));
            provider.GetRequiredService<AsgilookMetrics>().Observe(work);
            return work;
        });
        services.AddHostedService(provider => provider.GetRequiredService<ImageWork>());
        services.AddHostedService<ImageEngineLog>();
        return services;
    }
}
