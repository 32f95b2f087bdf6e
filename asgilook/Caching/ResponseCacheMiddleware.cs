using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using Asgilook.Operations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Asgilook.Caching;

/// <summary>
/// The tutorial's <c>RedisCache</c> middleware: GET answers are served from the cache when present
/// (<c>X-ASGILook-Cache: Hit</c>), otherwise produced (<c>Miss</c>) and, if successful, stored for an
/// hour. A successful POST, PUT or DELETE drops the entry of its own path, so an upload invalidates
/// the cached list. HEAD is answered from the same entries.
/// </summary>
public sealed class ResponseCacheMiddleware(RequestDelegate next, ResponseCache cache, AsgilookMetrics metrics)
{
    public const string CacheHeader = "X-ASGILook-Cache";
    public static readonly FrozenSet<string> InvalidateOn =
        FrozenSet.ToFrozenSet([HttpMethods.Delete, HttpMethods.Post, HttpMethods.Put], StringComparer.OrdinalIgnoreCase);

    /// <summary>Bodies larger than this are served but not cached.</summary>
    public const int MaxCachedBodyBytes = 8 * 1024 * 1024;

    /// <summary>How often a request waiting for another's fill looks for the entry: soon at first, then less often.</summary>
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(100);

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (InvalidateOn.Contains(request.Method))
        {
            await next(context);
            if (IsSuccess(context.Response.StatusCode))
            {
                await cache.InvalidateAsync(request.Path.Value ?? "/");
            }

            return;
        }

        if (!IsCacheable(context))
        {
            await next(context);
            return;
        }

        // snippet: lookup
        var clock = Stopwatch.StartNew();
        var lookup = await cache.LookupAsync(request.Path);
        var outcome = lookup.Hit is not null ? "hit" : lookup.Available ? "miss" : "unavailable";
        metrics.CacheLookup(outcome);
        context.Response.Headers.Append("Server-Timing", $"cache;desc=\"{outcome}\";dur={clock.Elapsed.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        if (lookup.Hit is { } cached)
        {
            await WriteHit(context, cached);
            return;
        }

        context.Response.Headers[CacheHeader] = "Miss";
        if (HttpMethods.IsHead(request.Method))
        {
            await next(context);
            return;
        }

        if (lookup.Available && FillsOnce(context))
        {
            await ProduceOnceAndStore(context, lookup);
            return;
        }

        await ProduceAndStore(context, lookup);
        // end snippet
    }

    private static bool IsCacheable(HttpContext context) =>
        (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        && !context.Request.QueryString.HasValue
        && context.GetEndpoint()?.Metadata.GetMetadata<ExcludeFromResponseCache>() is null;

    /// <summary>A conditional request is answered from validators without producing anything: it never waits.</summary>
    private static bool FillsOnce(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<FillOnce>() is not null
        && !context.Request.Headers.ContainsKey(HeaderNames.IfNoneMatch)
        && !context.Request.Headers.ContainsKey(HeaderNames.IfModifiedSince);

    private static bool IsSuccess(int status) => status is >= 200 and < 300;

    private static async Task WriteHit(HttpContext context, CachedResponse cached)
    {
        var response = context.Response;
        response.Headers[CacheHeader] = "Hit";
        if (ConditionalRequest.IsNotModified(context.Request, cached.ETag, cached.LastModified))
        {
            ConditionalRequest.WriteNotModified(response, cached.ETag, cached.LastModified, cached.CacheControl);
            return;
        }

        ConditionalRequest.SetValidators(response, cached.ETag, cached.LastModified, cached.CacheControl);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = cached.ContentType;
        response.ContentLength = cached.Body.Length;
        response.Headers[CacheHeader] = "Hit";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(cached.Body, context.RequestAborted);
        }
    }

    /// <summary>
    /// Produces the answer if this request gets the fill lock; otherwise waits for the holder's entry,
    /// polling with a growing pause, and serves it as a hit. When the holder gives up without storing
    /// (an error, an answer too big to cache) the next waiter takes the lock; when the lock outlives
    /// <see cref="FillOnce.LockExpiry"/>, the waiter produces the answer itself.
    /// </summary>
    private async Task ProduceOnceAndStore(HttpContext context, CacheLookup lookup)
    {
        var path = context.Request.Path;
        var waited = Stopwatch.StartNew();
        var pause = FirstPause;
        for (var attempt = 0; ; attempt++)
        {
            await using var fill = await cache.TryLockAsync(path);
            var expired = fill is null && waited.Elapsed >= FillOnce.LockExpiry;
            if (fill is not null || expired)
            {
                if (attempt > 0)
                {
                    // The holder before may have stored its entry just before letting go.
                    if (await TryServeFilledAsync())
                    {
                        return;
                    }

                    Waited(expired ? "expired" : "took over");
                }

                await ProduceAndStore(context, lookup);
                return;
            }

            await Task.Delay(pause, context.RequestAborted);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            if (await TryServeFilledAsync())
            {
                return;
            }
        }

        async Task<bool> TryServeFilledAsync()
        {
            lookup = await cache.LookupAsync(path);
            if (lookup.Hit is not { } filled)
            {
                return false;
            }

            Waited("filled");
            await WriteHit(context, filled);
            return true;
        }

        void Waited(string outcome)
        {
            metrics.FillWait(outcome);
            context.Response.Headers.Append("Server-Timing",
                $"fill;desc=\"{outcome}\";dur={waited.Elapsed.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        }
    }

    private async Task ProduceAndStore(HttpContext context, CacheLookup lookup)
    {
        var response = context.Response;
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var capture = new CapturingStream(originalBody.Stream, MaxCachedBodyBytes);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(capture, originalBody));
        try
        {
            await next(context);
            if (IsSuccess(response.StatusCode))
            {
                // Push out anything still buffered in the body writer, so the copy is whole.
                // Only for successes: an empty 404 must stay unstarted for the problem+json writer.
                await response.CompleteAsync();
            }
        }
        finally
        {
            context.Features.Set(originalBody);
        }

        if (response.StatusCode is StatusCodes.Status200OK && capture.Complete)
        {
            var headers = response.GetTypedHeaders();
            var entry = new CachedResponse(
                response.ContentType ?? "application/octet-stream", capture.Captured,
                headers.ETag?.ToString(), headers.LastModified, response.Headers.CacheControl.ToString() is { Length: > 0 } policy ? policy : null);
            await cache.StoreAsync(context.Request.Path, entry, lookup);
        }
    }
}
