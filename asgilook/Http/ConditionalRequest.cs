using Microsoft.Net.Http.Headers;

namespace Asgilook.Http;

/// <summary>HTTP validators and caching policy (RFC 9110 §13, RFC 9111), shared by the resources and the cache.</summary>
public static class ConditionalRequest
{
    /// <summary>For answers whose URI never changes content: originals and thumbnails.</summary>
    public const string Immutable = "public, max-age=31536000, immutable";

    /// <summary>For the list: clients may keep it but must revalidate, so that new uploads show.</summary>
    public const string Revalidate = "no-cache";

    /// <summary>
    /// Whether a GET or HEAD with these validators may be answered 304: If-None-Match decides when
    /// present (weak comparison, as RFC 9110 asks for GET), otherwise If-Modified-Since.
    /// </summary>
    public static bool IsNotModified(HttpRequest request, string? etag, DateTimeOffset? lastModified)
    {
        var headers = request.GetTypedHeaders();
        var ifNoneMatch = headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0)
        {
            return etag is not null && EntityTagHeaderValue.TryParse(etag, out var current)
                && ifNoneMatch.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false));
        }

        return lastModified is { } modified && headers.IfModifiedSince is { } since
            && TruncateToSeconds(modified) <= since;
    }

    public static void SetValidators(HttpResponse response, string? etag, DateTimeOffset? lastModified, string? cacheControl)
    {
        if (etag is not null)
        {
            response.Headers.ETag = etag;
        }

        if (lastModified is { } modified)
        {
            response.Headers.LastModified = modified.ToString("R");
        }

        if (cacheControl is not null)
        {
            response.Headers.CacheControl = cacheControl;
        }
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerSecond));
}
