using System.Collections.Frozen;
using MessagePack;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Asgilook.Caching;

/// <summary>
/// The tutorial's <c>RedisCache</c> middleware: GET answers are served from the cache store when
/// present (<c>X-ASGILook-Cache: Hit</c>), otherwise produced (<c>Miss</c>) and, if successful, stored
/// for an hour as <see cref="CachedResponse"/>. A successful POST, PUT or DELETE drops the entry of its
/// own path, so an upload invalidates the cached list. The cache only accelerates: when its store
/// fails, the request is served uncached and the failure logged once until the store recovers.
/// </summary>
public sealed class ResponseCacheMiddleware(RequestDelegate next, ICacheStore store, ILogger<ResponseCacheMiddleware> logger)
{
    public const string Prefix = "asgilook:";
    public const string CacheHeader = "X-ASGILook-Cache";
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(3600);
    public static readonly FrozenSet<string> InvalidateOn =
        FrozenSet.ToFrozenSet([HttpMethods.Delete, HttpMethods.Post, HttpMethods.Put], StringComparer.OrdinalIgnoreCase);

    /// <summary>Bodies larger than this are served but not cached.</summary>
    public const int MaxCachedBodyBytes = 8 * 1024 * 1024;

    private int _failing;

    /// <summary>
    /// The cache key of a path. Routing ignores case and a trailing slash, so the key does too:
    /// otherwise <c>/Images/</c> would hold a copy of the list that no upload invalidates.
    /// </summary>
    public static string KeyFor(PathString path)
    {
        var normalized = (path.Value ?? string.Empty).TrimEnd('/').ToLowerInvariant();
        return Prefix + (normalized.Length == 0 ? "/" : normalized);
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (InvalidateOn.Contains(request.Method))
        {
            await next(context);
            if (IsSuccess(context.Response.StatusCode))
            {
                await Guard(() => store.DeleteAsync(KeyFor(request.Path)));
            }

            return;
        }

        if (!IsCacheable(context))
        {
            await next(context);
            return;
        }

        var key = KeyFor(request.Path);
        var cached = await Guard(() => store.GetAsync(key));
        if (cached is not null && TryDecode(cached, key) is { } response)
        {
            await WriteHit(context, response);
            return;
        }

        context.Response.Headers[CacheHeader] = "Miss";
        if (HttpMethods.IsHead(request.Method))
        {
            await next(context);
            return;
        }

        await ProduceAndStore(context, key);
    }

    private static bool IsCacheable(HttpContext context) =>
        (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        && !context.Request.QueryString.HasValue
        && context.GetEndpoint()?.Metadata.GetMetadata<ExcludeFromResponseCache>() is null;

    private static bool IsSuccess(int status) => status is >= 200 and < 300;

    private static async Task WriteHit(HttpContext context, CachedResponse cached)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = cached.ContentType;
        response.ContentLength = cached.Body.Length;
        response.Headers[CacheHeader] = "Hit";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(cached.Body, context.RequestAborted);
        }
    }

    private async Task ProduceAndStore(HttpContext context, string key)
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

        if (IsSuccess(response.StatusCode) && response.StatusCode != StatusCodes.Status206PartialContent && capture.Complete)
        {
            var entry = new CachedResponse(response.ContentType ?? "application/octet-stream", capture.Captured);
            await Guard(() => store.SetAsync(key, entry.Serialize(), TimeToLive));
        }
    }

    private CachedResponse? TryDecode(byte[] data, string key)
    {
        try
        {
            return CachedResponse.Deserialize(data);
        }
        catch (MessagePackSerializationException e)
        {
            logger.LogWarning(e, "Cache entry {Key} is not a cached response; serving uncached", key);
            return null;
        }
    }

    private async Task Guard(Func<Task> operation) => await Guard(async () => { await operation(); return true; });

    private async Task<T?> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            var result = await operation();
            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                logger.LogInformation("Response cache ({CacheStore}) is back; caching resumed", store.Description);
            }

            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                logger.LogWarning(e, "Response cache ({CacheStore}) failed; serving uncached until it recovers", store.Description);
            }

            return default;
        }
    }
}
