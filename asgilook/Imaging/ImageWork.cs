namespace Asgilook.Imaging;

/// <summary>
/// The two queues image work runs on: upload conversions and thumbnail renders, each with workers and a
/// bound of its own. A flood of large uploads fills the conversions' queue (and is answered 503 past
/// it) while renders keep their own workers: the operating system shares the cores between the two.
/// </summary>
public sealed class ImageWork(ImageWorkQueue conversions, ImageWorkQueue renders) : IHostedService, IDisposable
{
    public ImageWorkQueue Conversions { get; } = conversions;

    public ImageWorkQueue Renders { get; } = renders;

    /// <summary>The workers start with the queues: nothing to do, but the host starts them before the first request.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>On shutdown, new work is refused (503) and the work already admitted is finished, until the host's shutdown timeout.</summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Conversions.DrainAsync(cancellationToken), Renders.DrainAsync(cancellationToken));

    public void Dispose()
    {
        Conversions.Dispose();
        Renders.Dispose();
    }
}
