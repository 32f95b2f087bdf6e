namespace Asgilook.Caching;

/// <summary>
/// Endpoint metadata: the route's GET answers are cached by <see cref="ResponseCacheMiddleware"/>, keyed by the path and
/// the query parameters <paramref name="Query"/> knows, and tagged with the path; <paramref name="InMemory"/> says whether
/// and how the memory tier in front of Redis keeps them. A route without it is never cached by the middleware.
/// </summary>
public sealed record ResponseCachePolicy(CacheVaryByQuery Query, MemoryTierPolicy? InMemory = null);

public static class ResponseCacheConventions
{
    /// <summary>Caches the route's GET answers under <paramref name="policy"/> (as OutputCaching's <c>CacheOutput</c> does).</summary>
    public static TBuilder CacheResponses<TBuilder>(this TBuilder builder, ResponseCachePolicy policy)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(policy);
}
