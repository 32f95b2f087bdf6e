using System.Diagnostics;
using System.Globalization;
using Asgilook.Http;
using Asgilook.Operations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Asgilook.Caching;

/// <summary>
/// The tutorial's <c>RedisCache</c> middleware, for the routes marked <see cref="ResponseCachePolicy"/> (the image
/// list): a GET is answered from the cache when the entry is there (<c>X-ASGILook-Cache: Hit</c>), otherwise
/// produced (<c>Miss</c>) and, when whole and successful, stored for an hour. HEAD is answered from the same entries.
/// What an upload or a delete makes stale is evicted by tag when the image event happens (<see cref="CacheInvalidation"/>),
/// not by this middleware's path. Thumbnails have their own pipeline over the same cache (<c>ThumbnailPipeline</c>).
/// </summary>
public sealed partial class ResponseCacheMiddleware(
    RequestDelegate next, ResponseCache cache, AsgilookMetrics metrics, ILogger<ResponseCacheMiddleware> logger)
{
    /// <summary>Bodies larger than this are served but not cached.</summary>
    public const int MaxCachedBodyBytes = 8 * 1024 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || context.GetEndpoint()?.Metadata.GetMetadata<ResponseCachePolicy>() is not { } policy
            || policy.Query.KeyOf(request.Query) is not { } knownQuery)
        {
            await next(context);
            return;
        }

        // snippet: lookup
        var key = ResponseCache.KeyFor(request.Path, knownQuery);
        var clock = Stopwatch.StartNew();
        var lookup = await cache.LookupAsync(key, policy.InMemory);
        metrics.CacheLookup(lookup.Outcome);
        ServerTiming.Append(context.Response, "cache", clock.Elapsed, lookup.Outcome);
        if (lookup.Hit is { } cached)
        {
            await new CachedAnswer(cached, CachedAnswer.Hit).ExecuteAsync(context);
            return;
        }

        context.Response.Headers[CachedAnswer.CacheHeader] = CachedAnswer.Miss;
        if (HttpMethods.IsHead(request.Method))
        {
            await next(context);
            return;
        }

        await ProduceAndStoreAsync(context, key, lookup, policy.InMemory);
        // end snippet
    }

    /// <summary>
    /// Produces the answer into a <see cref="ResponseBuffer"/>, stores it when it is a whole 200, then sends it.
    /// An answer is whole when its endpoint finished while the client was still there (an aborted request
    /// may end early without an error: the JSON writer stops quietly when its flush is cancelled), and
    /// its body is every byte written, as long as declared. It is stored before it is sent.
    /// </summary>
    private async Task ProduceAndStoreAsync(HttpContext context, CacheKey key, CacheLookup lookup, MemoryTierPolicy? inMemory)
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

        if (response.StatusCode is StatusCodes.Status200OK)
        {
            await StoreWholeAsync(context, key, lookup, inMemory, buffer);
        }

        if (buffer.Held.Length > 0)
        {
            response.ContentLength ??= buffer.Held.Length;
            await response.Body.WriteAsync(buffer.Held);
        }
    }

    /// <summary>Stores the buffered 200 if it is whole; counts the fill, or why there was none.</summary>
    private async Task StoreWholeAsync(HttpContext context, CacheKey key, CacheLookup lookup, MemoryTierPolicy? inMemory, ResponseBuffer buffer)
    {
        var response = context.Response;
        if (buffer.PassedThrough)
        {
            metrics.CacheFill(CacheFillOutcome.TooLarge);
            return;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            metrics.CacheFill(CacheFillOutcome.Aborted);
            return;
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
            return;
        }

        var stored = await cache.StoreAsync(key, entry, lookup, inMemory);
        metrics.CacheFill(stored ? CacheFillOutcome.Stored : CacheFillOutcome.NotKept);
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "A response for {Key} was not cached: its body is not whole ({Bytes} bytes of {Expected})")]
        public static partial void Torn(ILogger logger, string key, int bytes, long expected);
    }
}
