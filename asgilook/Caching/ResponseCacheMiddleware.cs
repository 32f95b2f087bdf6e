using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using Asgilook.Http;
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
public sealed partial class ResponseCacheMiddleware(
    RequestDelegate next, ResponseCache cache, CacheFill fill, AsgilookMetrics metrics, ILogger<ResponseCacheMiddleware> logger)
{
    public const string CacheHeader = "X-ASGILook-Cache";
    public static readonly FrozenSet<string> InvalidateOn =
        FrozenSet.ToFrozenSet([HttpMethods.Delete, HttpMethods.Post, HttpMethods.Put], StringComparer.OrdinalIgnoreCase);

    /// <summary>Bodies larger than this are served but not cached.</summary>
    public const int MaxCachedBodyBytes = 8 * 1024 * 1024;

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

        if (KeyOf(context) is not { } key)
        {
            await next(context);
            return;
        }

        // snippet: lookup
        var clock = Stopwatch.StartNew();
        var hot = context.GetEndpoint()?.Metadata.GetMetadata<HotCache>();
        var lookup = await cache.LookupAsync(key, hot);
        metrics.CacheLookup(lookup.Outcome);
        context.Response.Headers.Append("Server-Timing",
            $"cache;desc=\"{lookup.Outcome}\";dur={clock.Elapsed.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        if (lookup.Hit is { } cached)
        {
            await WriteHitAsync(context, cached);
            return;
        }

        context.Response.Headers[CacheHeader] = "Miss";
        if (HttpMethods.IsHead(request.Method))
        {
            await next(context);
        }
        else if (FillsOnce(context))
        {
            await fill.RunAsync(context, key, lookup, miss => ProduceAndStoreAsync(context, key, miss, hot), hit => WriteHitAsync(context, hit));
        }
        else
        {
            await ProduceAndStoreAsync(context, key, lookup, hot);
        }
        // end snippet
    }

    /// <summary>
    /// The key a cacheable request is cached under: its path, and the query parameters its route knows
    /// (unknown ones are left out, so that <c>?x=&lt;random&gt;</c> cannot make every request a miss);
    /// null when it is not cacheable.
    /// </summary>
    private static CacheKey? KeyOf(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return null;
        }

        // No endpoint, nothing to cache: a 404 for a path nothing serves (or one hidden from this port) costs no lookup.
        var metadata = context.GetEndpoint()?.Metadata;
        if (metadata is null || metadata.GetMetadata<ExcludeFromResponseCache>() is not null)
        {
            return null;
        }

        var query = metadata.GetMetadata<CacheVaryByQuery>() is { } vary ? vary.KeyOf(request.Query) : string.Empty;
        return query is null ? (CacheKey?)null : ResponseCache.KeyFor(request.Path, query);
    }

    /// <summary>A conditional request is answered from validators without producing anything: it never waits.</summary>
    private static bool FillsOnce(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<FillOnce>() is not null
        && !context.Request.Headers.ContainsKey(HeaderNames.IfNoneMatch)
        && !context.Request.Headers.ContainsKey(HeaderNames.IfModifiedSince);

    private static bool IsSuccess(int status) => status is >= 200 and < 300;

    private static async Task WriteHitAsync(HttpContext context, CachedResponse cached)
    {
        var response = context.Response;
        response.Headers[CacheHeader] = "Hit";
        ConditionalRequest.SetValidators(response, cached.ETag, cached.LastModified, cached.CacheControl);
        if (cached.Link is not null)
        {
            response.Headers.Link = cached.Link;
        }

        if (ConditionalRequest.IsNotModified(context.Request, cached.ETag, cached.LastModified))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = cached.ContentType;
        response.ContentLength = cached.Body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(cached.Body, context.RequestAborted);
        }
    }

    /// <summary>
    /// Produces the answer into a <see cref="ResponseBuffer"/>, stores it when it is a whole 200, then sends it.
    /// An answer is whole when its endpoint finished while the client was still there (an aborted request
    /// may end early without an error: the JSON writer stops quietly when its flush is cancelled), and
    /// its body is every byte written, as long as declared. It is stored before it is sent, so a waiting
    /// request never waits on this client's network.
    /// </summary>
    /// <returns>The entry, or null when the answer is not one to cache.</returns>
    private async Task<CachedResponse?> ProduceAndStoreAsync(HttpContext context, CacheKey key, CacheLookup lookup, HotCache? hot)
    {
        var response = context.Response;
        var clientBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var buffer = new ResponseBuffer(clientBody.Stream, response, MaxCachedBodyBytes);
        var buffered = new StreamResponseBodyFeature(buffer, clientBody);
        context.Features.Set<IHttpResponseBodyFeature>(buffered);
        try
        {
            await next(context);
            // What the endpoint wrote through the PipeWriter reaches the buffer when the writer completes.
            await buffered.CompleteAsync();
        }
        finally
        {
            context.Features.Set(clientBody);
        }

        var entry = response.StatusCode is StatusCodes.Status200OK ? await StoreWholeAsync(context, key, lookup, hot, buffer) : null;
        if (buffer.Held.Length > 0)
        {
            response.ContentLength ??= buffer.Held.Length;
            await response.Body.WriteAsync(buffer.Held);
        }

        return entry;
    }

    /// <summary>Stores the buffered 200 if it is whole; counts the fill, or why there was none.</summary>
    private async Task<CachedResponse?> StoreWholeAsync(HttpContext context, CacheKey key, CacheLookup lookup, HotCache? hot, ResponseBuffer buffer)
    {
        var response = context.Response;
        if (buffer.PassedThrough)
        {
            metrics.CacheFill(CacheFillOutcome.TooLarge);
            return null;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            metrics.CacheFill(CacheFillOutcome.Aborted);
            return null;
        }

        var headers = response.GetTypedHeaders();
        var entry = new CachedResponse(
            response.ContentType ?? "application/octet-stream", buffer.ToArray(),
            headers.ETag?.ToString(), headers.LastModified, response.Headers.CacheControl.ToString() is { Length: > 0 } policy ? policy : null,
            response.Headers.Link.ToString() is { Length: > 0 } link ? link : null);
        if (entry.Body.Length != buffer.BytesWritten || (response.ContentLength is { } declared && declared != entry.Body.Length)
            || !entry.IsWellFormed())
        {
            metrics.CacheFill(CacheFillOutcome.Torn);
            Log.Torn(logger, key.Entry, entry.Body.Length, response.ContentLength ?? buffer.BytesWritten);
            return null;
        }

        var stored = await cache.StoreAsync(key, entry, lookup, hot);
        metrics.CacheFill(stored ? CacheFillOutcome.Stored : CacheFillOutcome.NotKept);
        return entry;
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "A response for {Key} was not cached: its body is not whole ({Bytes} bytes of {Expected})")]
        public static partial void Torn(ILogger logger, string key, int bytes, long expected);
    }
}
