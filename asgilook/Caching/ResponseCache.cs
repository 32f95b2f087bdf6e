using System.Collections.Concurrent;
using MessagePack;

namespace Asgilook.Caching;

/// <summary>A lookup's outcome: the hit, or on a miss the generation a store must still match.</summary>
/// <param name="Available">False when the cache store failed: nothing is served from it nor stored.</param>
public readonly record struct CacheLookup(CachedResponse? Hit, long Generation, bool Available)
{
    public static readonly CacheLookup Unavailable = new(null, 0, Available: false);
}

/// <summary>
/// The response cache over its store: keys, time-to-live, encoding, and the rule that the cache only
/// accelerates. A failing store makes every lookup a miss, is logged once until it recovers, and
/// invalidations it missed are replayed when it answers again, before anything is read from it.
/// </summary>
public sealed class ResponseCache(ICacheStore store, ILogger<ResponseCache> logger)
{
    public const string Prefix = "asgilook:";
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(3600);

    private readonly ConcurrentDictionary<string, byte> _pendingInvalidations = new(StringComparer.Ordinal);
    private int _failing;

    /// <summary>
    /// The key of a path: the prefix and the path. Routing ignores case and a trailing slash, so the
    /// key does too: otherwise <c>/Images/</c> would hold a copy of the list that no upload invalidates.
    /// </summary>
    public static string KeyFor(PathString path)
    {
        var normalized = (path.Value ?? string.Empty).TrimEnd('/').ToLowerInvariant();
        return Prefix + (normalized.Length == 0 ? "/" : normalized);
    }

    /// <summary>The cached answer of the path, if any, and what a later <see cref="StoreAsync"/> needs.</summary>
    public async Task<CacheLookup> LookupAsync(PathString path)
    {
        var key = KeyFor(path);
        var read = await Guard<CacheRead?>(async () => await DropPendingInvalidationsAsync() ? await store.GetAsync(key) : null);
        if (read is not { } found)
        {
            return CacheLookup.Unavailable;
        }

        if (found.Value is null)
        {
            return new CacheLookup(null, found.Generation, Available: true);
        }

        try
        {
            return new CacheLookup(CachedResponse.Deserialize(found.Value), found.Generation, Available: true);
        }
        catch (MessagePackSerializationException e)
        {
            logger.LogWarning(e, "Cache entry {Key} is not a cached response; serving uncached", key);
            return new CacheLookup(null, found.Generation, Available: true);
        }
    }

    /// <summary>
    /// Stores the answer produced after <paramref name="lookup"/> missed, unless the path was
    /// invalidated meanwhile: then the answer may predate the change, and is not kept.
    /// </summary>
    public async Task StoreAsync(PathString path, CachedResponse response, CacheLookup lookup)
    {
        if (lookup.Available)
        {
            await Guard(async () => await DropPendingInvalidationsAsync()
                && await store.SetAsync(KeyFor(path), response.Serialize(), TimeToLive, lookup.Generation));
        }
    }

    /// <summary>Drops the entries of the paths; what the store cannot drop now is dropped when it recovers.</summary>
    public async Task InvalidateAsync(params IEnumerable<string> paths)
    {
        // Every invalidation is pending until the store confirms it.
        foreach (var key in paths.Select(path => KeyFor(new PathString(path))))
        {
            _pendingInvalidations[key] = 0;
        }

        await Guard(DropPendingInvalidationsAsync);
    }

    /// <summary>
    /// Takes the path's fill lock (see <see cref="FillOnce"/>). Null when another request holds it; when the
    /// store fails, a lock that coordinates nothing, so the request goes on as it would uncached.
    /// </summary>
    public async Task<IAsyncDisposable?> TryLockAsync(PathString path)
    {
        var attempt = await Guard<LockAttempt?>(async () => new LockAttempt(await store.TryLockAsync(KeyFor(path), FillOnce.LockExpiry)));
        return attempt is { } answered ? (answered.Lock is null ? null : new GuardedLock(this, answered.Lock)) : NoLock.Instance;
    }

    private async Task<bool> DropPendingInvalidationsAsync()
    {
        if (_pendingInvalidations.IsEmpty)
        {
            return true;
        }

        foreach (var key in _pendingInvalidations.Keys)
        {
            await store.InvalidateAsync(key);
            _pendingInvalidations.TryRemove(key, out _);
        }

        return true;
    }

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

    private sealed record LockAttempt(IAsyncDisposable? Lock);

    /// <summary>A release that fails is logged like any store failure: the lock then expires by itself.</summary>
    private sealed class GuardedLock(ResponseCache cache, IAsyncDisposable held) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await cache.Guard(async () =>
        {
            await held.DisposeAsync();
            return true;
        });
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
