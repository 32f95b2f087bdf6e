using System.Diagnostics;
using Asgilook.Caching;

namespace Asgilook.Operations;

/// <summary>One structured log line per request: method, path, status, duration, image id, cache outcome.</summary>
internal sealed class RequestLog(RequestDelegate next, ILogger<RequestLog> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            await next(context);
            return;
        }

        var clock = Stopwatch.StartNew();
        try
        {
            await next(context);
        }
        finally
        {
            logger.LogInformation(
                "{Method} {Path} {Status} in {ElapsedMs:0.0} ms (image {ImageId}, cache {CacheOutcome})",
                context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, clock.Elapsed.TotalMilliseconds,
                context.GetRouteValue("id") ?? "-", context.Response.Headers[ResponseCacheMiddleware.CacheHeader].FirstOrDefault() ?? "-");
        }
    }
}
