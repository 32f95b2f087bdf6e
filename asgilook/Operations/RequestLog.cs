using System.Diagnostics;
using Asgilook.Caching;

namespace Asgilook.Operations;

/// <summary>One structured log line per request: method, path, status, duration, image id, cache outcome.</summary>
internal sealed partial class RequestLog(RequestDelegate next, ILogger<RequestLog> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            Log.Request(
                logger, context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                context.GetRouteValue("id") ?? "-", context.Response.Headers[CachedAnswer.CacheHeader].FirstOrDefault() ?? "-");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "{Method} {Path} {Status} in {ElapsedMs:0.0} ms (image {ImageId}, cache {CacheOutcome})")]
        public static partial void Request(ILogger logger, string method, string? path, int status, double elapsedMs, object imageId, string cacheOutcome);
    }
}
