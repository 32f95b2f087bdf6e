using System.Diagnostics.Metrics;

namespace Asgilook.Operations;

/// <summary>
/// Asgilook's own instruments (meter <c>Asgilook</c>), exported with ASP.NET Core's request metrics
/// in Prometheus text at <c>/metrics</c>.
/// </summary>
public sealed class AsgilookMetrics
{
    public const string MeterName = "Asgilook";

    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _fillWaits;
    private readonly Counter<long> _fills;
    private readonly Counter<long> _thumbnailsRendered;
    private readonly Counter<long> _thumbnailsRead;
    private readonly Histogram<double> _thumbnailSeconds;
    private readonly Histogram<double> _conversionSeconds;
    private readonly Counter<long> _uploadBytes;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _workersStarted;
    private readonly Counter<long> _workersEnded;
    private readonly Histogram<double> _storeSeconds;
    private readonly Histogram<double> _moderationSeconds;

    public AsgilookMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _cacheLookups = meter.CreateCounter<long>("asgilook.cache.lookups", "{lookup}", "Response-cache lookups, by outcome (hit, miss, unavailable).");
        _fillWaits = meter.CreateCounter<long>("asgilook.cache.fill_waits", "{request}",
            "Misses that waited for another request (in any instance) producing the same answer, by outcome: filled (served its entry), took over (it stored none), expired (it took too long).");
        _fills = meter.CreateCounter<long>("asgilook.cache.fills", "{response}",
            "Successful (200) answers produced on a miss, by outcome: stored, not kept (the store refused or was unavailable), aborted (the client left before it was produced), torn (not whole), too large.");
        _thumbnailsRendered = meter.CreateCounter<long>("asgilook.thumbnails.rendered", "{thumbnail}", "Thumbnails rendered (cache misses that reached libvips).");
        _thumbnailsRead = meter.CreateCounter<long>("asgilook.thumbnails.read", "{thumbnail}", "Thumbnails read from their kept render beside the image (cache misses that needed no libvips).");
        _thumbnailSeconds = meter.CreateHistogram<double>("asgilook.thumbnail.duration", "s", "Time to render one thumbnail: decode with shrink-on-load, resize, encode.");
        _conversionSeconds = meter.CreateHistogram<double>("asgilook.upload.conversion.duration", "s", "Time to convert one upload to the stored JPEG.");
        _uploadBytes = meter.CreateCounter<long>("asgilook.upload.bytes", "By", "Bytes of upload bodies received.");
        _workersStarted = meter.CreateCounter<long>("asgilook.sandbox.workers_started", "{process}", "Conversion worker processes started.");
        _workersEnded = meter.CreateCounter<long>("asgilook.sandbox.workers_ended", "{process}",
            "Conversion worker processes ended, by reason: memory (killed past the ceiling), time (killed past the deadline), allocation failed, died, broke the protocol, grew (retired), ended while idle.");
        _storeSeconds = meter.CreateHistogram<double>("asgilook.store.duration", "s",
            "Calls to the bucket holding the images (S3), by operation (put, get, head, delete, list) and outcome (ok, unavailable): their count and time.");
        _moderationSeconds = meter.CreateHistogram<double>("asgilook.moderation.duration", "s",
            "Time the moderation hook took to review one upload, by outcome (accepted, refused, failed).");
        _rejected = meter.CreateCounter<long>("asgilook.requests.rejected", "{request}", "Requests answered with a 4xx problem or a 503, by status.");
    }

    /// <summary>Publishes the image work queues' lengths and capacities, by queue (conversion, render).</summary>
    public void Observe(Imaging.ImageWork work)
    {
        var meter = _cacheLookups.Meter;
        Imaging.ImageWorkQueue[] queues = [work.Conversions, work.Renders];
        meter.CreateObservableGauge("asgilook.image_work.waiting", () => queues.Select(queue => Measure(queue, queue.Waiting)), "{task}", "Image work waiting for a worker.");
        meter.CreateObservableGauge("asgilook.image_work.capacity", () => queues.Select(queue => Measure(queue, queue.Workers + queue.QueueLength)), "{task}", "Image work admitted at most (running and waiting).");
    }

    private static Measurement<int> Measure(Imaging.ImageWorkQueue queue, int value) => new(value, new KeyValuePair<string, object?>("queue", queue.Name));

    public void CacheLookup(string outcome) => _cacheLookups.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void CacheFill(Caching.CacheFillOutcome outcome) => _fills.Add(1, new KeyValuePair<string, object?>("outcome", outcome switch
    {
        Caching.CacheFillOutcome.Stored => "stored",
        Caching.CacheFillOutcome.NotKept => "not kept",
        Caching.CacheFillOutcome.Aborted => "aborted",
        Caching.CacheFillOutcome.Torn => "torn",
        _ => "too large",
    }));

    public void FillWait(string outcome) => _fillWaits.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void ThumbnailRendered(TimeSpan duration)
    {
        _thumbnailsRendered.Add(1);
        _thumbnailSeconds.Record(duration.TotalSeconds);
    }

    public void ThumbnailRead() => _thumbnailsRead.Add(1);

    public void StoreCall(string operation, bool reached, TimeSpan duration) => _storeSeconds.Record(
        duration.TotalSeconds, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("outcome", reached ? "ok" : "unavailable"));

    public void Moderated(string outcome, TimeSpan duration) =>
        _moderationSeconds.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    public void UploadReceived(long bodyBytes) => _uploadBytes.Add(bodyBytes);

    public void UploadConverted(TimeSpan duration) => _conversionSeconds.Record(duration.TotalSeconds);

    public void SandboxWorkerStarted() => _workersStarted.Add(1);

    public void SandboxWorkerEnded(string reason) => _workersEnded.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Rejected(int status) => _rejected.Add(1, new KeyValuePair<string, object?>("status", status));
}
