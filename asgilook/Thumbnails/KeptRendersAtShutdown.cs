namespace Asgilook.Thumbnails;

/// <summary>At shutdown, lets the renders on their way to a bucket arrive (up to 10 s) before the process ends.</summary>
internal sealed class KeptRendersAtShutdown(ThumbnailRenderer renderer) : IHostedService
{
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(10);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => renderer.KeptAsync(LongestWait);
}
