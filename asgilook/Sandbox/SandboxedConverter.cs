using System.Collections.Concurrent;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Operations;
using Microsoft.Extensions.Options;

namespace Asgilook.Sandbox;

/// <summary>
/// Converts uploads in conversion worker processes (<see cref="ConversionWorker"/>), so that no decoder's bug
/// (libvips' loaders, librsvg, libheif, ImageMagick, ImageSharp) can reach the server: a worker that passes
/// its memory ceiling or its deadline is killed and the upload refused (413, 422), one that dies is
/// replaced, one that grew is retired. Workers are started when first needed and reused; the conversion
/// queue runs at most as many jobs as there are workers. What a worker answers is checked like any
/// untrusted input: the JPEG must be one plain baseline or progressive JPEG of the size it claims,
/// the placeholder must have Asgilook's shape, and the server hashes the JPEG itself.
/// </summary>
public sealed partial class SandboxedConverter : IUploadConverter, IDisposable
{
    /// <summary>The most time a worker has to start and say it is ready (the first one pays for loading the runtime and libvips).</summary>
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(60);

    /// <summary>The grace past the deadline before the server kills a worker (the worker stops its own work at the deadline first).</summary>
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(2);

    private readonly ConcurrentBag<WorkerProcess> _idle = [];
    private readonly AsgilookOptions _settings;
    private readonly WorkerLaunch _launch;
    private readonly AsgilookMetrics _metrics;
    private readonly ILogger<SandboxedConverter> _logger;
    private readonly long _ceilingBytes;
    private readonly TimeSpan _readyWithin;
    private int _live;
    private int _unavailable;
    private int _disposed;

    public SandboxedConverter(IOptions<AsgilookOptions> options, AsgilookMetrics metrics, ILogger<SandboxedConverter> logger)
        : this(options.Value, WorkerLaunches.For(options.Value), ReadyWithin, metrics, logger)
    {
    }

    /// <param name="launch">How a worker is started (tests start stand-ins that break the protocol).</param>
    internal SandboxedConverter(AsgilookOptions settings, WorkerLaunch launch, TimeSpan readyWithin, AsgilookMetrics metrics, ILogger<SandboxedConverter> logger)
    {
        _settings = settings;
        _launch = launch;
        _readyWithin = readyWithin;
        _metrics = metrics;
        _logger = logger;
        _ceilingBytes = _settings.SandboxMemoryMegabytes * 1024L * 1024L;
    }

    /// <summary>Workers alive now, busy or idle.</summary>
    public int Live => Volatile.Read(ref _live);

    /// <summary>The process ids of the idle workers (for tests and diagnostics).</summary>
    public IReadOnlyCollection<int> IdleWorkerIds => [.. _idle.Where(worker => !worker.HasExited).Select(worker => worker.Pid)];

    /// <summary>A worker whose resident memory stays above this after a job is retired rather than reused.</summary>
    private long RetireAboveBytes => _ceilingBytes / 2;

    public UploadConversion Convert(byte[] upload)
    {
        for (var attempt = 0; ; attempt++)
        {
            var worker = TakeWorker();
            var outcome = worker.Run(upload, _settings.ImageWorkTimeout + KillGrace, _ceilingBytes, MaxJpegBytes);
            GiveBack(worker, outcome);
            if (outcome.End is WorkerEnd.NotTaken && attempt == 0)
            {
                continue; // it had ended while idle: the upload goes to a fresh one
            }

            return Interpret(outcome);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // Idle workers are waiting for input: closing it ends them as they expect (and lets them flush what a process flushes).
        Parallel.ForEach(_idle, worker => worker.Close(TimeSpan.FromSeconds(2)));
        _idle.Clear();
    }

    /// <summary>The largest JPEG a worker may answer: q85 of the largest image allowed stays far below 3 bytes a pixel.</summary>
    private int MaxJpegBytes => (int)Math.Min(Array.MaxLength, 3 * _settings.MaxPixels + 1024 * 1024);

    private WorkerProcess TakeWorker()
    {
        while (_idle.TryTake(out var idle))
        {
            if (!idle.HasExited)
            {
                return idle;
            }

            Retire(idle, "ended while idle");
        }

        try
        {
            var worker = WorkerProcess.Start(_launch, _readyWithin);
            Interlocked.Increment(ref _live);
            _metrics.SandboxWorkerStarted();
            if (Interlocked.Exchange(ref _unavailable, 0) == 1)
            {
                Log.Available(_logger);
            }

            return worker;
        }
        catch (WorkerUnavailableException e)
        {
            if (Interlocked.Exchange(ref _unavailable, 1) == 0)
            {
                Log.Unavailable(_logger, e.Message);
            }

            throw;
        }
    }

    private void GiveBack(WorkerProcess worker, WorkerOutcome outcome)
    {
        if (outcome.End is not WorkerEnd.Answered)
        {
            Retire(worker, outcome.End switch
            {
                WorkerEnd.OverMemory => "memory",
                WorkerEnd.OverTime => "time",
                WorkerEnd.AllocationFailed => "allocation failed",
                WorkerEnd.Broken => "broke the protocol",
                WorkerEnd.NotTaken => "ended while idle",
                _ => "died",
            });
        }
        else if (worker.HasExited || worker.ResidentBytes() > RetireAboveBytes || Volatile.Read(ref _disposed) == 1)
        {
            Retire(worker, "grew");
        }
        else
        {
            _idle.Add(worker);
        }
    }

    private void Retire(WorkerProcess worker, string why)
    {
        worker.Dispose();
        Interlocked.Decrement(ref _live);
        _metrics.SandboxWorkerEnded(why);
    }

    private UploadConversion Interpret(WorkerOutcome outcome) => outcome switch
    {
        { End: WorkerEnd.Answered, Reply: WorkerConverted converted } => Checked(converted),
        { End: WorkerEnd.Answered, Reply: WorkerRefused refused } => throw Refusal(refused),
        { End: WorkerEnd.OverMemory or WorkerEnd.AllocationFailed } => throw OverMemory(),
        { End: WorkerEnd.OverTime } => throw new RejectedImageException(
            Rejection.TookTooLong, $"Converting the image took longer than the {_settings.ImageWorkTimeout.TotalSeconds:0.###} s one image may take (ImageWorkTimeout); nothing was stored."),
        _ => throw new RejectedImageException(Rejection.DecoderFailed, "The decoder failed on this image; nothing was stored."),
    };

    private RejectedImageException OverMemory() => new(
        Rejection.OverMemory,
        $"Decoding the image needed more than the {_settings.SandboxMemoryMegabytes:N0} MiB a conversion worker may have (SandboxMemoryMegabytes); nothing was stored.");

    /// <summary>A worker's refusal, its message held to the shape of the messages Asgilook writes.</summary>
    private RejectedImageException Refusal(WorkerRefused refused) => refused.Reason is Rejection.OverMemory
        ? OverMemory()
        : new RejectedImageException(refused.Reason, Printable(refused.Message));

    private UploadConversion Checked(WorkerConverted converted)
    {
        var image = converted.Image;
        if ((long)image.Width * image.Height > _settings.MaxPixels
            || !Placeholders.IsWellFormed(converted.Placeholder)
            || !FileStructure.IsPlainJpeg(image.Jpeg, image.Width, image.Height)
            || image.Animation is { } animation && (animation.Frames > _settings.MaxFrames || !FileStructure.IsExactlyOneFile(ImageFormats.ImageLoader.Webp, animation.Webp)))
        {
            Log.Untrusted(_logger);
            throw new RejectedImageException(Rejection.DecoderFailed, "The decoder failed on this image; nothing was stored.");
        }

        return UploadConversion.Of(image, converted.Placeholder);
    }

    private static string Printable(string message)
    {
        var kept = new string([.. message.Where(c => !char.IsControl(c)).Take(300)]);
        return kept.Length == 0 ? "The image was refused." : kept;
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Error, "Conversion workers cannot start ({Reason}); uploads answer 503 until one can")]
        public static partial void Unavailable(ILogger logger, string reason);

        [LoggerMessage(LogLevel.Information, "Conversion workers start again")]
        public static partial void Available(ILogger logger);

        [LoggerMessage(LogLevel.Warning, "A conversion worker answered a JPEG, animation or placeholder that is not what Asgilook writes; it was refused")]
        public static partial void Untrusted(ILogger logger);
    }
}
