using System.Collections.Concurrent;

namespace Asgilook.Caching;

/// <summary>
/// Answers kept in this process, already decoded, in front of the shared Redis tier: a hit costs no
/// round trip, no copy and no MessagePack. It holds only what Redis holds (an entry comes from a Redis
/// hit or a store Redis accepted), and never answers more than Redis would: local invalidations and the
/// other instances' announced deletes and uploads drop its entries, entries under
/// <see cref="MemoryTierPolicy.WhileGenerationHolds"/> are checked against their generation on every hit,
/// and everything is forgotten whenever the connection to Redis drops (announcements may be missed
/// while it is away). Bounded in bytes: the entries used least recently go first.
/// </summary>
public sealed class MemoryTier(long budgetBytes, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private long _bytes;
    private long _uses;
    private long _epoch;

    public bool Enabled => budgetBytes > 0;

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => _entries.Count;

    /// <summary>
    /// Bumped by every drop: read it before reading Redis, and hand it to <see cref="Add"/>, which then
    /// refuses an answer read before an invalidation that has already been applied here.
    /// </summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>The entry of the key, and the generation it was stored under; null when there is none (or it expired).</summary>
    public (CachedResponse Response, long Generation, MemoryTierPolicy Policy)? Get(CacheKey key)
    {
        if (!_entries.TryGetValue(key.Entry, out var entry))
        {
            return null;
        }

        if (entry.ExpiresAt <= clock.GetUtcNow())
        {
            Remove(key.Entry, entry);
            return null;
        }

        entry.LastUse = Interlocked.Increment(ref _uses);
        return (entry.Response, entry.Generation, entry.Policy);
    }

    /// <summary>Keeps an entry Redis holds, for as long as Redis keeps it at most.</summary>
    public void Add(CacheKey key, CachedResponse response, long generation, MemoryTierPolicy policy, TimeSpan timeToLive, long epoch)
    {
        var size = SizeOf(key, response);
        if (!Enabled || size > budgetBytes / 8)
        {
            return; // a few huge entries must not push out thousands of thumbnails
        }

        var entry = new Entry(key.Tag, response, generation, policy, clock.GetUtcNow() + timeToLive, size)
        {
            LastUse = Interlocked.Increment(ref _uses),
        };
        lock (_writeLock)
        {
            if (Epoch != epoch)
            {
                return;
            }

            if (_entries.TryGetValue(key.Entry, out var old))
            {
                _bytes -= old.Size;
            }

            _entries[key.Entry] = entry;
            _bytes += size;
            if (_bytes > budgetBytes)
            {
                Evict();
            }
        }
    }

    /// <summary>Drops a key's entry (a stale one found on a hit).</summary>
    public void Drop(CacheKey key)
    {
        Interlocked.Increment(ref _epoch);
        if (_entries.TryGetValue(key.Entry, out var entry))
        {
            Remove(key.Entry, entry);
        }
    }

    /// <summary>Drops every entry of the tags (a tag and its queries, as an invalidation does).</summary>
    public void DropTags(IReadOnlyCollection<string> tags)
    {
        var set = tags as ISet<string> ?? new HashSet<string>(tags, StringComparer.Ordinal);
        DropWhere(tag => set.Contains(tag));
    }


    public void Clear()
    {
        Interlocked.Increment(ref _epoch);
        lock (_writeLock)
        {
            _entries.Clear();
            _bytes = 0;
        }
    }

    private static long SizeOf(CacheKey key, CachedResponse response) =>
        response.Body.Length + 2L * (key.Entry.Length + response.ContentType.Length + (response.ETag?.Length ?? 0) + (response.Link?.Length ?? 0)) + 256;

    private void DropWhere(Func<string, bool> tag)
    {
        Interlocked.Increment(ref _epoch);
        foreach (var (key, entry) in _entries)
        {
            if (tag(entry.Tag))
            {
                Remove(key, entry);
            }
        }
    }

    private void Remove(string key, Entry entry)
    {
        lock (_writeLock)
        {
            if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
            {
                _bytes -= entry.Size;
            }
        }
    }

    /// <summary>Down to three quarters of the budget, least recently used first, so that eviction stays off most stores.</summary>
    private void Evict()
    {
        var target = budgetBytes * 3 / 4;
        foreach (var (key, entry) in _entries.ToArray().OrderBy(pair => pair.Value.LastUse))
        {
            if (_bytes <= target)
            {
                break;
            }

            Remove(key, entry); // under the write lock already, which Remove takes again
        }
    }

    private sealed record Entry(string Tag, CachedResponse Response, long Generation, MemoryTierPolicy Policy, DateTimeOffset ExpiresAt, long Size)
    {
        public long LastUse { get; set; }
    }
}
