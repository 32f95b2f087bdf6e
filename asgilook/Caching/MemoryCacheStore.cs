using System.Collections.Concurrent;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in this process's memory, for running without Redis: the same keys, values,
/// time-to-live and generations, within a byte budget (oldest entries go first when it is spent).
/// </summary>
public sealed class MemoryCacheStore(long budgetBytes, TimeProvider clock) : ICacheStore
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Generation> _generations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FillLock> _locks = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private long _bytes;
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    public string Description => $"in-process memory ({budgetBytes / (1024 * 1024)} MiB); set ASGI_LOOK_REDIS_HOST to share a Redis cache";

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>How many keys have a remembered generation (forgotten after <see cref="ICacheStore.GenerationLifetime"/>).</summary>
    public int RememberedGenerations => _generations.Count;

    public Task<CacheRead> GetAsync(CacheKey key)
    {
        // The generation is read first: an invalidation in between leaves a miss with an old
        // generation, whose store is then refused. Never the other way round.
        var generation = GenerationOf(key.Tag);
        if (_entries.TryGetValue(key.Entry, out var entry))
        {
            if (entry.ExpiresAt > clock.GetUtcNow() && entry.Generation == generation)
            {
                return Task.FromResult(new CacheRead(entry.Value, generation));
            }

            lock (_writeLock)
            {
                Remove(key.Entry, entry);
            }
        }

        return Task.FromResult(new CacheRead(null, generation));
    }

    public Task<bool> SetAsync(CacheKey key, byte[] value, TimeSpan timeToLive, long generation)
    {
        if (value.Length > budgetBytes)
        {
            return Task.FromResult(false);
        }

        lock (_writeLock)
        {
            if (GenerationOf(key.Tag) != generation)
            {
                return Task.FromResult(false);
            }

            var entry = new Entry(value, clock.GetUtcNow() + timeToLive, generation);
            var previous = _entries.TryGetValue(key.Entry, out var old) ? old.Value.Length : 0;
            _entries[key.Entry] = entry;
            _bytes += value.Length - previous;
            if (_bytes > budgetBytes)
            {
                Evict();
            }
        }

        return Task.FromResult(true);
    }

    public Task InvalidateAsync(string tag)
    {
        lock (_writeLock)
        {
            if (_entries.TryRemove(tag, out var entry))
            {
                _bytes -= entry.Value.Length;
            }

            var now = clock.GetUtcNow();
            _generations[tag] = new Generation(GenerationOf(tag) + 1, now + ICacheStore.GenerationLifetime);
            if (now >= _nextSweep)
            {
                _nextSweep = now + TimeSpan.FromMinutes(1);
                ForgetOldGenerations(now);
            }
        }

        return Task.CompletedTask;
    }

    private TimeProvider Clock => clock;

    public Task<IHeldLock?> TryLockAsync(string key, TimeSpan expiry)
    {
        var now = clock.GetUtcNow();
        var taken = new FillLock(this, key, now + expiry);
        while (true)
        {
            if (_locks.TryAdd(key, taken))
            {
                return Task.FromResult<IHeldLock?>(taken);
            }

            if (_locks.TryGetValue(key, out var held))
            {
                if (held.ExpiresAt > now)
                {
                    return Task.FromResult<IHeldLock?>(null);
                }

                _locks.TryRemove(new KeyValuePair<string, FillLock>(key, held)); // expired: its holder lost it
            }
        }
    }

    public Task<long> GetGenerationAsync(string tag) => Task.FromResult(GenerationOf(tag));

    private long GenerationOf(string key) =>
        _generations.TryGetValue(key, out var generation) && generation.ForgetAt > clock.GetUtcNow() ? generation.Value : 0;

    private void Remove(string key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
        {
            _bytes -= entry.Value.Length;
        }
    }

    private void Evict()
    {
        // Every entry has the same time-to-live, so the soonest to expire are the oldest.
        // Evicting down to three quarters of the budget keeps this off the hot path.
        var target = budgetBytes * 3 / 4;
        foreach (var (key, entry) in _entries.ToArray().OrderBy(pair => pair.Value.ExpiresAt))
        {
            if (_bytes <= target)
            {
                break;
            }

            Remove(key, entry);
        }
    }

    private void ForgetOldGenerations(DateTimeOffset now)
    {
        foreach (var (key, generation) in _generations)
        {
            if (generation.ForgetAt <= now)
            {
                _generations.TryRemove(key, out _);
            }
        }
    }

    /// <param name="Generation">The tag's generation it was stored under: a later one makes it stale.</param>
    private sealed record Entry(byte[] Value, DateTimeOffset ExpiresAt, long Generation);

    private sealed class FillLock(MemoryCacheStore store, string key, DateTimeOffset expiresAt) : IHeldLock
    {
        private long _expiresAtTicks = expiresAt.UtcTicks;

        public DateTimeOffset ExpiresAt => new(Interlocked.Read(ref _expiresAtTicks), TimeSpan.Zero);

        public Task<bool> RenewAsync(TimeSpan expiry)
        {
            if (!store._locks.TryGetValue(key, out var held) || !ReferenceEquals(held, this) || ExpiresAt <= store.Clock.GetUtcNow())
            {
                return Task.FromResult(false);
            }

            Interlocked.Exchange(ref _expiresAtTicks, (store.Clock.GetUtcNow() + expiry).UtcTicks);
            return Task.FromResult(true);
        }

        // Removes only this lock: after an expiry, the key may hold another's.
        public ValueTask DisposeAsync()
        {
            store._locks.TryRemove(new KeyValuePair<string, FillLock>(key, this));
            return ValueTask.CompletedTask;
        }
    }

    private sealed record Generation(long Value, DateTimeOffset ForgetAt);
}
