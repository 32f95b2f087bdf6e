namespace Asgilook.Caching;

/// <summary>What a lookup found: the entry (null on a miss) and how often its key had been invalidated.</summary>
public readonly record struct CacheRead(byte[]? Value, long Generation);

/// <summary>
/// Where the response cache keeps its entries: Redis, or the process's own memory. Each key has a
/// generation that every invalidation bumps, so that an answer computed before an invalidation is
/// never stored after it (a miss stores only if the generation it read is still current), and a fill
/// lock, so that one request (in any instance sharing the store) produces a missing entry.
/// </summary>
public interface ICacheStore
{
    /// <summary>How long a generation is remembered: far longer than any answer takes to compute.</summary>
    static readonly TimeSpan GenerationLifetime = TimeSpan.FromHours(2);

    /// <summary>What the entries are kept in, for the startup log and the readiness check (no secrets).</summary>
    string Description { get; }

    /// <summary>The entry and its key's generation, read together.</summary>
    Task<CacheRead> GetAsync(string key);

    /// <summary>Stores the entry unless the key was invalidated since <paramref name="generation"/> was read.</summary>
    /// <returns>Whether it was stored.</returns>
    Task<bool> SetAsync(string key, byte[] value, TimeSpan timeToLive, long generation);

    /// <summary>Deletes the entry and bumps the key's generation.</summary>
    Task InvalidateAsync(string key);

    /// <summary>
    /// Takes the key's fill lock unless another request (in any instance sharing the store) holds it.
    /// The lock expires by itself after <paramref name="expiry"/>, so a holder that dies blocks no one
    /// for longer than that.
    /// </summary>
    /// <returns>The lock, to dispose once the entry is stored; null when another request holds it.</returns>
    Task<IAsyncDisposable?> TryLockAsync(string key, TimeSpan expiry);
}
