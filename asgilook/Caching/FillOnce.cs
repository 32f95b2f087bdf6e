namespace Asgilook.Caching;

/// <summary>
/// Endpoint metadata for answers worth producing once across every instance (thumbnails): on a miss,
/// the first request takes the key's fill lock and produces the answer; the others, in this instance
/// or another sharing the Redis cache, wait for the entry it stores instead of producing it again.
/// </summary>
public sealed class FillOnce
{
    public static readonly FillOnce Instance = new();

    /// <summary>
    /// How long the lock holds and a waiter waits: a holder that dies delays others this long at most,
    /// and a render slower than this is done twice rather than waited for.
    /// </summary>
    public static readonly TimeSpan LockExpiry = TimeSpan.FromSeconds(5);

    private FillOnce()
    {
    }
}
