using Asgilook.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Images;

public static class ImagesServices
{
    /// <summary>What the Images resource needs besides the store: ids for new uploads, the memory their bodies may hold, and the JSON of an image.</summary>
    public static IServiceCollection AddImageResources(this IServiceCollection services)
    {
        services.TryAddSingleton<IImageIdGenerator, RandomImageIdGenerator>();
        services.TryAddSingleton<ImageResources>();
        services.TryAddSingleton(provider =>
        {
            var settings = provider.Settings();
            var bytes = settings.UploadBufferMegabytes * 1024L * 1024L;
            return new UploadBudget(bytes, settings.UploadsInFlightPerClient, Math.Max(settings.UploadBufferMegabytesPerClient * 1024L * 1024L, settings.MaxUploadBytes));
        });
        return services;
    }
}
