using Asgilook.Caching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace Asgilook.Operations;

public static class OperationsServices
{
    /// <summary>Health checks, metrics in Prometheus text, the OpenAPI document, and memory given back after a burst.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.TryAddSingleton<AsgilookMetrics>();
        services.AddHostedService<MemoryReturn>();
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
            // The runtime's own: the managed heap, GC pauses, threads, working set (what an operator looks at on a bad day).
            .AddMeter("System.Runtime")
            // Every scrape reads the counters as they are: a cached scrape would show a count from before
            // the requests that just finished (and a scrape costs microseconds).
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary><c>/health</c>, <c>/health/ready</c>, <c>/openapi/v1.json</c> and <c>/metrics</c>, none of them cached.</summary>
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder app)
    {
        app.MapAsgilookHealthChecks();
        app.MapOpenApi().WithMetadata(OperationsEndpoint.ManagementOnly);
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(OperationsEndpoint.ManagementOnly);
        return app;
    }
}
