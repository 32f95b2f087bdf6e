using System.Text.Json;
using Asgilook.Caching;
using Asgilook.Redis;
using Asgilook.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Asgilook.Operations;

/// <summary>
/// <c>GET /health</c> (the process answers) and <c>GET /health/ready</c> (storage folder or bucket writable, catalog
/// answering, cache reachable or degraded, the moderation hook answering its last review or degraded): a load balancer
/// sends traffic only to ready instances.
/// Which folder or bucket, database and Redis a check names is shown only where <see cref="ManagementPort"/> allows.
/// </summary>
internal static class HealthChecks
{
    public const string Ready = "ready";

    public static IHealthChecksBuilder AddAsgilookHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<StorageWritable>("storage", tags: [Ready])
            .AddCheck<CatalogAnswers>("catalog", tags: [Ready])
            .AddCheck<CacheReachable>("cache", tags: [Ready])
            .AddCheck<ModerationAnswers>("moderation", tags: [Ready]);

    public static void MapAsgilookHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJson })
            .WithMetadata(OperationsEndpoint.Everywhere);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(Ready), ResponseWriter = WriteJson })
            .WithMetadata(OperationsEndpoint.Everywhere);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!ManagementPort.ShowsDetails(context))
        {
            return context.Response.WriteAsJsonAsync(new { status = report.Status.ToString() }, Json);
        }

        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        }, Json);
    }

    private sealed class StorageWritable(IBlobStore blobs) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await blobs.ProbeWritableAsync(cancellationToken);
                return HealthCheckResult.Healthy($"{blobs.Description} is writable");
            }
            catch (StoreUnavailableException e)
            {
                return HealthCheckResult.Unhealthy($"{blobs.Description} does not answer ({e.Reason})");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return HealthCheckResult.Unhealthy($"{blobs.Description} is not writable ({Redaction.Describe(e)})");
            }
        }
    }

    private sealed class CatalogAnswers(IImageCatalog catalog) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await catalog.PingAsync(cancellationToken);
                return HealthCheckResult.Healthy($"{catalog.Description} answers");
            }
            catch (System.Data.Common.DbException e)
            {
                return HealthCheckResult.Unhealthy($"{catalog.Description} does not answer ({Redaction.Describe(e)})");
            }
        }
    }

    /// <summary>
    /// Degraded while the moderation hook's last review failed: uploads are then refused (or stored unreviewed), while
    /// everything else is served, so the instance stays in rotation. Told from the reviews themselves, never by sending
    /// the hook anything.
    /// </summary>
    private sealed class ModerationAnswers(Moderation.ModerationHook hook, Microsoft.Extensions.Options.IOptions<Configuration.AsgilookOptions> options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(hook.LastFailure is { } failure
                ? HealthCheckResult.Degraded(
                    $"the moderation hook {failure} at its last review; uploads are {(options.Value.Moderation.OnFailure == Configuration.ModerationFailure.Reject ? "refused with 503" : "stored unreviewed")} until it answers")
                : HealthCheckResult.Healthy(hook.Configured ? "the moderation hook answered its last review (or has had none yet)" : "no moderation hook"));
    }

    private sealed class CacheReachable(ICacheStore cache, RedisConnection redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!redis.Configured)
            {
                return HealthCheckResult.Healthy(cache.Description);
            }

            try
            {
                await redis.PingAsync();
                return HealthCheckResult.Healthy(cache.Description);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Degraded($"{cache.Description} does not answer; serving uncached ({Redaction.Describe(e)})");
            }
        }
    }
}
