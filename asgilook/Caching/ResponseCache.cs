using System.Collections.Concurrent;
using Asgilook.Operations;
using Asgilook.Redis;

namespace Asgilook.Caching;

/// <summary>A lookup's outcome: the hit, or on a miss the generation a store must still match.</summary>
/// <param name="Available">False when the cache store failed: nothing is served from it nor stored.</param>
public readonly record struct CacheLookup(CachedResponse? Hit, long Generation, bool Available)
{
    public static readonly CacheLookup Unavailable = new(null, 0, Available: false);

    /// <summary>For metrics and Server-Timing: hit, miss or unavailable.</summary>
    public string Outcome => Hit is not null ? "hit" : Available ? "miss" : "unavailable";
}

/// <summary>What an attempt at a key's fill lock found.</summary>
public enum FillLockState
{
    /// <summary>This request holds the lock: it produces the entry; disposing the lock lets go.</summary>
    Taken,

    /// <summary>Another request (in this instance or another) holds it and is producing the entry.</summary>
    HeldElsewhere,

    /// <summary>The store failed: nothing coordinates this request, which goes on as it would uncached.</summary>
    StoreFailed,
}

/// <summary>
/// The response cache over its store: keys, time-to-live, encoding, and the rule that the cache only
/// accelerates. A failing store makes every lookup a miss, is logged once until it recovers, and
/// invalidations it missed are replayed when it answers again, before anything is read from it.
/// In front of a Redis store, the <see cref="MemoryTier"/> answers what it may without a round trip.
/// </summary>
public sealed partial class ResponseCache : IHostedService
{
    public const string Prefix = RedisKeys.Prefix;
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(3600);

    /// <summary>
    /// How often the memory tier reads the deletes log: the longest a deleted image's answer may still come from this
    /// process's memory when the announcement of its delete was lost.
    /// </summary>
    public static readonly TimeSpan DeletesReadEvery = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, byte> _pendingInvalidations = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _pendingDeletes = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _readingDeletes = Task.CompletedTask;
    private long _deletesRead = -1;
    private readonly ICacheStore store;
    private readonly MemoryTier memory;
    private readonly ILogger<ResponseCache> logger;
    private int _failing;

    public ResponseCache(ICacheStore store, MemoryTier memory, ILogger<ResponseCache> logger)
    {
        this.store = store;
        this.memory = memory;
        this.logger = logger;
        // While the connection is away, announcements of deletes and uploads may be missed.
        store.OnConnectionChanged(memory.Clear);
    }

    /// <summary>
    /// The key of a path: the prefix and the path. Routing ignores case and a trailing slash, so the
    /// key does too: otherwise <c>/Images/</c> would hold a copy of the list that no upload invalidates.
    /// </summary>
    public static string KeyFor(PathString path)
    {
        var normalized = (path.Value ?? string.Empty).TrimEnd('/').ToLowerInvariant();
        return Prefix + (normalized.Length == 0 ? "/" : normalized);
    }

    /// <summary>The key of a path and the query the route knows (<see cref="CacheVaryByQuery"/>), tagged with the path itself.</summary>
    public static CacheKey KeyFor(PathString path, string knownQuery)
    {
        var tag = KeyFor(path);
        return new CacheKey(knownQuery.Length == 0 ? tag : $"{tag}?{knownQuery}", tag);
    }

    /// <summary>The tag of every entry of the image list, its pages included: what an upload or a delete evicts.</summary>
    public static string ListTag { get; } = KeyFor(new PathString("/images"));

    /// <summary>The tag of every cached answer about one image (its thumbnails, in every size and format): what its delete evicts.</summary>
    public static string ImageTag(string imageId) => $"{Prefix}image:{imageId.ToLowerInvariant()}";

    /// <inheritdoc cref="ImageTag(string)"/>
    public static string ImageTag(Guid imageId) => ImageTag(imageId.ToString());

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Store(logger, store.Description);
        if (memory.Enabled)
        {
            _readingDeletes = ReadDeletesAsync(_stopping.Token);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _readingDeletes;
    }

    /// <summary>
    /// Every <see cref="DeletesReadEvery"/>, drops from the memory tier what the store's deletes log names since the last
    /// read: an image deleted through another instance whose announcement never arrived (a partition, a publish that
    /// timed out) is forgotten here all the same, within a second of its delete reaching the store. A log that lost
    /// track (it keeps the newest deletes only) clears the tier.
    /// </summary>
    private async Task ReadDeletesAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(DeletesReadEvery);
        try
        {
            do
            {
                var deleted = await Guarded(async () => await store.DeletedSinceAsync(_deletesRead));
                if (deleted is null)
                {
                    continue;
                }

                if (!deleted.Complete)
                {
                    memory.Clear();
                }

                foreach (var id in deleted.Ids)
                {
                    ForgetImage(id);
                }

                _deletesRead = deleted.Sequence;
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Drops what the memory tier keeps of an image: every thumbnail's answer, whatever its size or format.</summary>
    public void ForgetImage(string imageId) => memory.DropTags([ImageTag(imageId)]);

    /// <summary>The cached answer of the key, if any, and what a later <see cref="StoreAsync"/> needs.</summary>
    /// <param name="policy">How the route's answers may be kept in this process's memory tier; null: never.</param>
    public async Task<CacheLookup> LookupAsync(CacheKey key, MemoryTierPolicy? policy = null)
    {
        if (policy is not null && MemoryUsable && memory.Get(key) is { } kept)
        {
            if (kept.Policy is MemoryTierPolicy.UntilInvalidated)
            {
                return new CacheLookup(kept.Response, kept.Generation, Available: true);
            }

            var current = await Guarded<long?>(async () => await store.GetGenerationAsync(key.Tag));
            if (current is null)
            {
                return CacheLookup.Unavailable;
            }

            if (current == kept.Generation)
            {
                return new CacheLookup(kept.Response, kept.Generation, Available: true);
            }

            memory.Drop(key);
        }

        var epoch = memory.Epoch;
        var read = await Guarded<CacheRead?>(async () =>
        {
            await DropPendingInvalidationsAsync();
            return await store.GetAsync(key);
        });
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
            var hit = CachedResponse.Deserialize(found.Value);
            if (CachedResponse.IsServable(hit.ContentType))
            {
                if (policy is not null && MemoryUsable)
                {
                    memory.Add(key, hit, found.Generation, policy.Value, TimeToLive, epoch);
                }

                return new CacheLookup(hit, found.Generation, Available: true);
            }

            Log.Unreadable(logger, key.Entry, "a content type Asgilook never caches");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Truncated, foreign or from another version: whatever the bytes are, they are not served.
            Log.Unreadable(logger, key.Entry, Redaction.Describe(e));
        }

        // The entry goes, and the answer produced next replaces it (it is stored under the new generation).
        var renewed = await Guarded<CacheRead?>(async () =>
        {
            await store.InvalidateAsync(key.Tag);
            return await store.GetAsync(key);
        });
        return renewed is { } fresh ? new CacheLookup(null, fresh.Generation, Available: true) : CacheLookup.Unavailable;
    }

    /// <summary>
    /// Stores the answer produced after <paramref name="lookup"/> missed, unless the key was
    /// invalidated meanwhile: then the answer may predate the change, and is not kept.
    /// </summary>
    /// <returns>Whether the store kept it.</returns>
    public async Task<bool> StoreAsync(CacheKey key, CachedResponse response, CacheLookup lookup, MemoryTierPolicy? policy = null)
    {
        if (lookup.Available && CachedResponse.IsServable(response.ContentType))
        {
            var epoch = memory.Epoch;
            var stored = await Guarded(async () =>
            {
                await DropPendingInvalidationsAsync();
                return await store.SetAsync(key, response.Serialize(), TimeToLive, lookup.Generation);
            });
            if (stored && policy is not null && MemoryUsable)
            {
                memory.Add(key, response, lookup.Generation, policy.Value, TimeToLive, epoch);
            }

            return stored;
        }

        return false;
    }

    /// <summary>Drops what this process's memory tier keeps under the tags (another instance changed them: Redis knows already).</summary>
    public void ForgetInMemory(params IEnumerable<string> tags) => memory.DropTags([.. tags]);

    /// <summary>
    /// The memory tier answers only while the store does and nothing is waiting to be invalidated in it:
    /// otherwise it could answer what the store no longer would.
    /// </summary>
    private bool MemoryUsable => memory.Enabled && Volatile.Read(ref _failing) == 0 && _pendingInvalidations.IsEmpty && _pendingDeletes.IsEmpty && store.IsConnected;

    /// <summary>
    /// Evicts a deleted image's answers (its tag and the list's), here and in the store, and records the delete in the
    /// store's deletes log for every instance's memory tier; what the store cannot take now is replayed when it recovers.
    /// </summary>
    public Task EvictDeletedAsync(Guid imageId)
    {
        _pendingDeletes.Enqueue(imageId.ToString());
        return EvictAsync(ListTag, ImageTag(imageId));
    }

    /// <summary>Evicts every entry under the tags; what the store cannot evict now is evicted when it recovers.</summary>
    public async Task EvictAsync(params IEnumerable<string> tags)
    {
        // Every eviction is pending until the store confirms it; the memory tier forgets at once.
        var keys = tags.ToHashSet(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            _pendingInvalidations[key] = 0;
        }

        memory.DropTags(keys);

        await Guarded(async () =>
        {
            await DropPendingInvalidationsAsync();
            return true;
        });
    }

    /// <summary>Tries to take the key's fill lock (see <see cref="CacheFill"/>).</summary>
    public async Task<FillLock> TryLockAsync(CacheKey key)
    {
        var attempt = await Guarded(async () => new LockAttempt(await store.TryLockAsync(key.Entry, CacheFill.LockExpiry)));
        return attempt switch
        {
            null => FillLock.StoreFailed,
            { Held: null } => FillLock.HeldElsewhere,
            { Held: var held } => new FillLock(FillLockState.Taken, () => Guarded(async () =>
            {
                // A release that fails is logged like any store failure: the lock then expires by itself.
                await held.DisposeAsync();
                return true;
            }), async () => await Guarded(() => held.RenewAsync(CacheFill.LockExpiry))),
        };
    }

    private async Task DropPendingInvalidationsAsync()
    {
        foreach (var key in _pendingInvalidations.Keys)
        {
            await store.InvalidateAsync(key);
            _pendingInvalidations.TryRemove(key, out _);
        }

        while (_pendingDeletes.TryPeek(out var id))
        {
            await store.RecordDeletedAsync(id);
            _pendingDeletes.TryDequeue(out _);
        }
    }

    /// <summary>Runs a store operation; on failure logs once (until it works again) and answers null.</summary>
    private async Task<T?> Guarded<T>(Func<Task<T>> operation)
    {
        try
        {
            var result = await operation();
            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                memory.Clear();
                Log.Recovered(logger, store.Description);
            }

            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                memory.Clear();
                Log.Failed(logger, store.Description, Redaction.Describe(e));
            }

            return default;
        }
    }

    private sealed record LockAttempt(IHeldLock? Held);

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Response cache: {CacheStore}")]
        public static partial void Store(ILogger logger, string cacheStore);

        [LoggerMessage(LogLevel.Warning, "Cache entry {Key} is not a cached response ({Reason}); serving uncached")]
        public static partial void Unreadable(ILogger logger, string key, string reason);

        [LoggerMessage(LogLevel.Warning, "Response cache ({CacheStore}) failed ({Reason}); serving uncached until it recovers")]
        public static partial void Failed(ILogger logger, string cacheStore, string reason);

        [LoggerMessage(LogLevel.Information, "Response cache ({CacheStore}) is back; caching resumed")]
        public static partial void Recovered(ILogger logger, string cacheStore);
    }
}

/// <summary>The outcome of <see cref="ResponseCache.TryLockAsync"/>; only a <see cref="FillLockState.Taken"/> lock releases or renews anything.</summary>
public sealed class FillLock(FillLockState state, Func<Task>? release = null, Func<Task<bool>>? renew = null) : IAsyncDisposable
{
    public static readonly FillLock HeldElsewhere = new(FillLockState.HeldElsewhere);
    public static readonly FillLock StoreFailed = new(FillLockState.StoreFailed);

    public FillLockState State { get; } = state;

    /// <summary>Keeps the lock another <see cref="CacheFill.LockExpiry"/>; false when it was lost (or the store failed).</summary>
    public Task<bool> RenewAsync() => renew is null ? Task.FromResult(false) : renew();

    public async ValueTask DisposeAsync()
    {
        if (release is not null)
        {
            await release();
        }
    }
}
