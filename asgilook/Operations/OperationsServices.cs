using Asgilook.Caching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace Asgilook.Operations;

public static class OperationsServices
{
    /// <summary>Health checks, metrics in Prometheus text, and the OpenAPI document.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.TryAddSingleton<AsgilookMetrics>();
        services.AddAsgilookHealthChecks();
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            OperationsDocumentation.AddTo(document);
            Access.AccessDocumentation.AddScheme(document);
            return Task.CompletedTask;
        }));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddAspNetCoreInstrumentation()
            .AddMeter(AsgilookMetrics.MeterName)
            // Every scrape reads the counters as they are: a cached scrape would show a count from before
            // the requests that just finished (and a scrape costs microseconds).
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary><c>/health</c>, <c>/health/ready</c>, <c>/openapi/v1.json</c> and <c>/metrics</c>, none of them cached.</summary>
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder app)
    {
        app.MapAsgilookHealthChecks();
        app.MapOpenApi().WithMetadata(ExcludeFromResponseCache.Instance, OperationsEndpoint.ManagementOnly);
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(ExcludeFromResponseCache.Instance, OperationsEndpoint.ManagementOnly);
        return app;
    }
}
