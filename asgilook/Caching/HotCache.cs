namespace Asgilook.Caching;

/// <summary>How an answer may be kept in the in-process tier in front of Redis (<see cref="HotTier"/>).</summary>
public enum HotCachePolicy
{
    /// <summary>
    /// Immutable for its URL (thumbnails): only a delete makes it wrong, and every delete is announced,
    /// here and to every instance; a hit costs no round trip to Redis.
    /// </summary>
    UntilInvalidated,

    /// <summary>
    /// Changes with uploads (the list): a hit is served only while its family's generation in Redis is
    /// the one it was stored under, so an upload through another instance shows at once; one small GET.
    /// </summary>
    WhileGenerationHolds,
}

/// <summary>Endpoint metadata: the route's answers are kept in the in-process tier, under this policy.</summary>
public sealed class HotCache(HotCachePolicy policy)
{
    public static readonly HotCache UntilInvalidated = new(HotCachePolicy.UntilInvalidated);
    public static readonly HotCache WhileGenerationHolds = new(HotCachePolicy.WhileGenerationHolds);

    public HotCachePolicy Policy { get; } = policy;
}
