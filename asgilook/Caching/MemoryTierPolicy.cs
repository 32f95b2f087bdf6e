namespace Asgilook.Caching;

/// <summary>How an answer may be kept in the memory tier in front of Redis (<see cref="MemoryTier"/>).</summary>
public enum MemoryTierPolicy
{
    /// <summary>
    /// Immutable for its URL (thumbnails): only a delete makes it wrong, and every delete is announced, here and to
    /// every instance (and logged in Redis for one that missed the announcement); a hit costs no round trip to Redis.
    /// </summary>
    UntilInvalidated,

    /// <summary>
    /// Changes with uploads (the list): a hit is served only while its tag's generation in Redis is the one it was
    /// stored under, so an upload through another instance shows at once; one small GET.
    /// </summary>
    WhileGenerationHolds,
}
