using Asgilook.Http;

namespace Asgilook.Caching;

/// <summary>
/// Sends a cached (or just produced) answer as the resource itself would: its validators and Link, 304 when the client
/// has it already, otherwise its bytes with their length; <c>X-ASGILook-Cache</c> says where it came from.
/// </summary>
public sealed class CachedAnswer(CachedResponse cached, string outcome) : IResult
{
    public const string CacheHeader = "X-ASGILook-Cache";

    public const string Hit = "Hit";
    public const string Miss = "Miss";

    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers[CacheHeader] = outcome;
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
}
