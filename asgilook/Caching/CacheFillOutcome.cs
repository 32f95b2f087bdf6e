namespace Asgilook.Caching;

/// <summary>What became of a successful answer produced on a cache miss.</summary>
public enum CacheFillOutcome
{
    /// <summary>Whole, and kept by the store.</summary>
    Stored,

    /// <summary>Whole, but the store refused it (invalidated meanwhile) or was unavailable.</summary>
    NotKept,

    /// <summary>The client went away before the answer was produced: it may have ended early, and is not kept.</summary>
    Aborted,

    /// <summary>Its body is not what the endpoint declared, or not one whole answer of its type: never kept.</summary>
    Torn,

    /// <summary>Larger than the cache keeps: sent as it was produced.</summary>
    TooLarge,
}
