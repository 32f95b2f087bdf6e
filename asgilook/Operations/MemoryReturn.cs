using System.Runtime;
using Asgilook.Imaging;

namespace Asgilook.Operations;

/// <summary>
/// Gives memory back after a burst. A busy minute (a flood of uploads, each body and JPEG a large object)
/// leaves the managed heap's large-object segments and glibc's arenas committed long after the work is done:
/// measured after a bad day, the server held 393 MiB where it had started at 123. Once a second this looks at
/// how much was allocated since the last time it gave memory back; when that is a lot and no image work has
/// been admitted for <see cref="Quiet"/>, it runs one compacting collection of the whole heap (large objects
/// included) and trims the native heap. A quiet server pays nothing; a busy one is not interrupted.
/// </summary>
public sealed partial class MemoryReturn(ImageWork work, ILogger<MemoryReturn> logger) : BackgroundService
{
    /// <summary>How long the image work must have been idle before memory is given back.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    /// <summary>What must have been allocated since the last return for another to be worth a full collection.</summary>
    public const long WorthReturningBytes = 128L * 1024 * 1024;

    /// <summary>At most one return this often: a busy server that never goes quiet collects at this pace at most.</summary>
    public static readonly TimeSpan AtMostEvery = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var returnedAt = GC.GetTotalAllocatedBytes();
        var idleSince = TimeProvider.System.GetTimestamp();
        var lastReturn = idleSince;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (work.Conversions.Admitted + work.Renders.Admitted > 0)
                {
                    idleSince = TimeProvider.System.GetTimestamp();
                    continue;
                }

                var allocated = GC.GetTotalAllocatedBytes();
                if (allocated - returnedAt < WorthReturningBytes || TimeProvider.System.GetElapsedTime(idleSince) < Quiet
                    || TimeProvider.System.GetElapsedTime(lastReturn) < AtMostEvery)
                {
                    continue;
                }

                var before = Environment.WorkingSet;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                NativeHeap.TrimNow();
                returnedAt = GC.GetTotalAllocatedBytes();
                lastReturn = TimeProvider.System.GetTimestamp();
                Log.Returned(logger, (before - Environment.WorkingSet) / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Debug, "Gave back {Returned} MiB after a burst of work; the process holds {Held} MiB")]
        public static partial void Returned(ILogger logger, long returned, long held);
    }
}
