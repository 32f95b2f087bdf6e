using Asgilook.Caching;
using Asgilook.Events;
using Asgilook.Images;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.Storage;
using Asgilook.Thumbnails;
using Carter;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Asgilook;

/// <summary>
/// The composition root (the tutorial's <c>create_app</c>): <see cref="AddAsgilook"/> registers the
/// services, <see cref="UseAsgilook"/> builds the pipeline. Tests call the same two methods.
/// </summary>
public static class AsgilookApp
{
    /// <summary>Where the service listens when no <c>--urls</c> (or ASPNETCORE_URLS) is given, like uvicorn.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    public static WebApplicationBuilder AddAsgilook(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddTutorialEnvironmentVariables();
        if (!HasListenAddress(builder.Configuration))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var services = builder.Services;
        services.AddOptions<AsgilookOptions>()
            .BindConfiguration(AsgilookOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AsgilookOptions>, AsgilookOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IImageIdGenerator, RandomImageIdGenerator>();
        services.TryAddSingleton<IImageProcessor, VipsImageProcessor>();
        services.TryAddSingleton(CreateImageWorkQueue);
        services.TryAddSingleton<AsgilookMetrics>();
        services.TryAddSingleton(provider => new ImageFiles(provider.GetRequiredService<IOptions<AsgilookOptions>>().Value.StoragePath));
        services.TryAddSingleton<IImageCatalog>(provider =>
            provider.GetRequiredService<IOptions<AsgilookOptions>>().Value.Database is { Length: > 0 } database
                ? new PostgresImageCatalog(database)
                : new SqliteImageCatalog(Path.Combine(provider.GetRequiredService<ImageFiles>().Root, SqliteImageCatalog.FileName)));
        services.TryAddSingleton<IImageStore, ImageStore>();
        services.AddHostedService<StoreInitializer>();

        services.TryAddSingleton(CreateRedisConnection);
        services.TryAddSingleton(CreateCacheStore);
        services.TryAddSingleton<ResponseCache>();
        services.AddHostedService<CacheLifetime>();
        services.TryAddSingleton(CreateEventBroadcast);
        services.TryAddSingleton<ImageEvents>();
        services.AddHostedService(provider => provider.GetRequiredService<ImageEvents>());

        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = Rejections.Describe);
        services.AddExceptionHandler<ExceptionAnswers>();
        services.AddAsgilookHealthChecks();
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Asgilook";
            document.Info.Description =
                "An image-sharing API: upload any image, get it back as a JPEG by uuid, list what is stored, and fetch " +
                "mipmap-style thumbnails rendered on the fly and kept in a response cache. Every error is an RFC 9457 problem.";
            OperationsDocumentation.AddTo(document);
            return Task.CompletedTask;
        }));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddAspNetCoreInstrumentation()
            .AddMeter(AsgilookMetrics.MeterName)
            // Every scrape reads the counters as they are: a cached scrape would show a count from before
            // the requests that just finished (and a scrape costs microseconds).
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        services.AddCarter(configurator: carter => carter
            .WithModule<ImagesModule>()
            .WithModule<ThumbnailsModule>()
            .WithModule<EventsModule>()
            .WithModule<GalleryModule>());
        return builder;
    }

    // snippet: pipeline
    public static WebApplication UseAsgilook(this WebApplication app)
    {
        app.UseMiddleware<RequestLog>();
        app.UseMiddleware<HeadRequests>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseMiddleware<ResponseCacheMiddleware>();
        app.MapCarter();
        app.MapAsgilookHealthChecks();
        app.MapOpenApi().WithMetadata(ExcludeFromResponseCache.Instance);
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(ExcludeFromResponseCache.Instance);
        return app;
    }
    // end snippet

    private static bool HasListenAddress(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").Exists();

    private static ImageWorkQueue CreateImageWorkQueue(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<AsgilookOptions>>().Value;
        var queue = new ImageWorkQueue(options.ImageWorkers > 0 ? options.ImageWorkers : Environment.ProcessorCount, options.ImageQueueLength);
        services.GetRequiredService<AsgilookMetrics>().Observe(queue);
        return queue;
    }

    private static RedisConnection CreateRedisConnection(IServiceProvider services)
    {
        // The validator already refused an unusable address, so parsing succeeds here.
        RedisAddress.TryParse(services.GetRequiredService<IOptions<AsgilookOptions>>().Value.RedisHost ?? string.Empty, out var redis, out _);
        return new RedisConnection(redis!, services.GetRequiredService<ILogger<RedisConnection>>());
    }

    private static IEventBroadcast CreateEventBroadcast(IServiceProvider services) =>
        string.IsNullOrWhiteSpace(services.GetRequiredService<IOptions<AsgilookOptions>>().Value.RedisHost)
            ? new NoBroadcast()
            : new RedisEventBroadcast(services.GetRequiredService<RedisConnection>(), services.GetRequiredService<ILogger<RedisEventBroadcast>>());

    private static ICacheStore CreateCacheStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<AsgilookOptions>>().Value;
        if (string.IsNullOrWhiteSpace(options.RedisHost))
        {
            return new MemoryCacheStore(options.MemoryCacheMegabytes * 1024L * 1024L, services.GetRequiredService<TimeProvider>());
        }

        return new RedisCacheStore(services.GetRequiredService<RedisConnection>());
    }
}
