using System.Collections.Concurrent;

namespace Asgilook.Operations;

/// <summary>
/// Concurrent calls for the same key share one run of the work: the first caller starts it, the
/// others wait for its result. Once it completes, the next call starts afresh.
/// </summary>
public sealed class SingleFlight<TKey, TValue> where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Lazy<Task<TValue>>> _inFlight = new();

    public async Task<TValue> RunAsync(TKey key, Func<Task<TValue>> work)
    {
        var flight = new Lazy<Task<TValue>>(work);
        var shared = _inFlight.GetOrAdd(key, flight);
        try
        {
            return await shared.Value;
        }
        finally
        {
            if (ReferenceEquals(shared, flight))
            {
                _inFlight.TryRemove(new KeyValuePair<TKey, Lazy<Task<TValue>>>(key, flight));
            }
        }
    }
}
