using Asgilook.Access;
using Asgilook.Caching;
using Asgilook.Configuration;
using Asgilook.Events;
using Asgilook.Gallery;
using Asgilook.Http;
using Asgilook.Images;
using Asgilook.Imaging;
using Asgilook.Moderation;
using Asgilook.Operations;
using Asgilook.Quotas;
using Asgilook.RateLimiting;
using Asgilook.Redis;
using Asgilook.Storage;
using Asgilook.Thumbnails;
using Carter;

namespace Asgilook;

/// <summary>
/// The composition root (the tutorial's <c>create_app</c>): <see cref="AddAsgilook"/> registers the
/// services, <see cref="UseAsgilook"/> builds the pipeline. Tests call the same two methods, and
/// register their replacements first: every replaceable service is added with TryAdd.
/// </summary>
public static class AsgilookApp
{
    public static WebApplicationBuilder AddAsgilook(this WebApplicationBuilder builder)
    {
        builder.AddAsgilookConfiguration();
        builder.Services
            .AddOperations()
            .AddImageResources()
            .AddThumbnails()
            .AddImaging()
            .AddImageStorage()
            .AddModeration()
            .AddRedis()
            .AddResponseCache()
            .AddImageEvents()
            .AddAccess()
            .AddRateLimits()
            .AddHttpProblems()
            .AddCarter(configurator: carter => carter
                .WithModule<ImagesModule>()
                .WithModule<ThumbnailsModule>()
                .WithModule<UsageModule>()
                .WithModule<EventsModule>()
                .WithModule<GalleryModule>());
        return builder;
    }

    // snippet: pipeline
    public static WebApplication UseAsgilook(this WebApplication app)
    {
        if (app.Services.Settings().TrustedProxies.Length > 0)
        {
            // Only then: with no known proxies, the middleware would believe anyone's X-Forwarded-For.
            app.UseForwardedHeaders();
        }

        app.UseMiddleware<RequestLog>();
        app.UseMiddleware<SecurityHeaders>();
        app.UseMiddleware<HeadRequests>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseMiddleware<ManagementPort>();
        app.UseMiddleware<ResponseCacheMiddleware>();
        app.MapCarter();
        app.MapOperations();
        return app;
    }
    // end snippet
}
