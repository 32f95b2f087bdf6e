using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// Sums one counter of one app's meters, by one tag's value: tests run side by side in this process,
/// so only the instruments of this app's meter factory are listened to.
/// </summary>
public sealed class MeasurementCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byTag = new(StringComparer.Ordinal);

    public MeasurementCounter(IServiceProvider services, string instrument, string tag)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Name == instrument && ReferenceEquals(published.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var pair in tags)
            {
                if (pair.Key == tag)
                {
                    _byTag.AddOrUpdate(pair.Value?.ToString() ?? string.Empty, value, (_, sum) => sum + value);
                }
            }
        });
        _listener.Start();
    }

    /// <summary>The sum of the measurements whose tag had this value.</summary>
    public long this[string value] => _byTag.GetValueOrDefault(value);

    public IReadOnlyDictionary<string, long> All => new Dictionary<string, long>(_byTag);

    public void Dispose() => _listener.Dispose();
}
