using System.Collections.Concurrent;

namespace Asgilook.Caching;

/// <summary>
/// The response cache in this process's memory, for running without Redis: the same keys,
/// values and time-to-live, within a byte budget (oldest entries go first when it is spent).
/// </summary>
public sealed class MemoryCacheStore(long budgetBytes, TimeProvider clock) : ICacheStore
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _evictionLock = new();
    private long _bytes;

    public string Description => $"in-process memory ({budgetBytes / (1024 * 1024)} MiB); set ASGI_LOOK_REDIS_HOST to share a Redis cache";

    public long Bytes => Interlocked.Read(ref _bytes);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<byte[]?> GetAsync(string key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.ExpiresAt > clock.GetUtcNow())
            {
                return Task.FromResult<byte[]?>(entry.Value);
            }

            Remove(key, entry);
        }

        return Task.FromResult<byte[]?>(null);
    }

    public Task SetAsync(string key, byte[] value, TimeSpan timeToLive)
    {
        if (value.Length > budgetBytes)
        {
            return Task.CompletedTask;
        }

        var entry = new Entry(value, clock.GetUtcNow() + timeToLive);
        _entries.AddOrUpdate(
            key,
            _ => { Interlocked.Add(ref _bytes, value.Length); return entry; },
            (_, old) => { Interlocked.Add(ref _bytes, value.Length - old.Value.Length); return entry; });

        if (Bytes > budgetBytes)
        {
            Evict();
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key)
    {
        if (_entries.TryRemove(key, out var entry))
        {
            Interlocked.Add(ref _bytes, -entry.Value.Length);
        }

        return Task.CompletedTask;
    }

    private void Remove(string key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
        {
            Interlocked.Add(ref _bytes, -entry.Value.Length);
        }
    }

    private void Evict()
    {
        lock (_evictionLock)
        {
            // Every entry has the same time-to-live, so the soonest to expire are the oldest.
            // Evicting down to three quarters of the budget keeps this off the hot path.
            var target = budgetBytes * 3 / 4;
            foreach (var (key, entry) in _entries.ToArray().OrderBy(pair => pair.Value.ExpiresAt))
            {
                if (Bytes <= target)
                {
                    break;
                }

                Remove(key, entry);
            }
        }
    }

    private sealed record Entry(byte[] Value, DateTimeOffset ExpiresAt);
}
