namespace Asgilook.Caching;

/// <summary>What a lookup found: the entry (null on a miss) and how often its key's tag had been invalidated.</summary>
public readonly record struct CacheRead(byte[]? Value, long Generation);

/// <summary>The images deleted after a point of the deletes log, and where the log stands now.</summary>
/// <param name="Sequence">The newest point of the log.</param>
/// <param name="Complete">False when the log no longer holds every delete since the point asked about (it keeps the newest only).</param>
public sealed record DeletedImages(long Sequence, IReadOnlyList<string> Ids, bool Complete);

/// <summary>
/// Where an entry lives and which tag it belongs to. The tag is the path (<c>asgilook:/images</c>),
/// and an invalidation invalidates the tag: the path's own entry and every entry of a query on it
/// (<c>asgilook:/images?limit=50</c>), which then reads as a miss.
/// </summary>
public readonly record struct CacheKey(string Entry, string Tag)
{
    /// <summary>An entry that is its own tag: a path without a query.</summary>
    public static implicit operator CacheKey(string key) => new(key, key);

    public bool IsItsOwnTag => Entry == Tag;
}

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

    /// <summary>The entry and its tag's generation, read together; an entry stored under an older generation of its tag reads as none.</summary>
    Task<CacheRead> GetAsync(CacheKey key);

    /// <summary>Stores the entry unless its tag was invalidated since <paramref name="generation"/> was read.</summary>
    /// <returns>Whether it was stored.</returns>
    Task<bool> SetAsync(CacheKey key, byte[] value, TimeSpan timeToLive, long generation);

    /// <summary>Deletes the tag's own entry and bumps its generation, which makes every entry of the tag stale.</summary>
    Task InvalidateAsync(string tag);

    /// <summary>
    /// Takes the key's fill lock unless another request (in any instance sharing the store) holds it.
    /// The lock expires by itself after <paramref name="expiry"/> unless its holder renews it, so a holder that dies
    /// blocks no one for longer than that, and one that is slow keeps it for as long as it works.
    /// </summary>
    /// <returns>The lock, to dispose once the entry is stored; null when another request holds it.</returns>
    Task<IHeldLock?> TryLockAsync(string key, TimeSpan expiry);

    /// <summary>How often the tag has been invalidated (what <see cref="GetAsync"/> reads beside an entry), alone.</summary>
    Task<long> GetGenerationAsync(string tag);

    /// <summary>Whether the store is reachable as far as its client knows, without asking it.</summary>
    bool IsConnected => true;

    /// <summary>
    /// Appends deleted images to the store's deletes log, which instances whose memory tier may hold their answers read
    /// (<see cref="DeletedSinceAsync"/>) in case the announcement of the delete never reached them. Nothing to do for a
    /// store in this process's own memory.
    /// </summary>
    Task RecordDeletedAsync(string imageId) => Task.CompletedTask;

    /// <summary>The images deleted after <paramref name="sequence"/> (a negative one: where the log stands now, with no ids).</summary>
    Task<DeletedImages> DeletedSinceAsync(long sequence) => Task.FromResult(new DeletedImages(sequence, [], Complete: true));

    /// <summary>Calls <paramref name="changed"/> whenever the connection to the store drops or comes back.</summary>
    void OnConnectionChanged(Action changed)
    {
    }
}

/// <summary>A fill lock this request holds: released when disposed, kept past its expiry only by renewing it.</summary>
public interface IHeldLock : IAsyncDisposable
{
    /// <summary>Moves the expiry to <paramref name="expiry"/> from now, if the lock is still this holder's.</summary>
    /// <returns>False when it expired and another request took it meanwhile.</returns>
    Task<bool> RenewAsync(TimeSpan expiry);
}
