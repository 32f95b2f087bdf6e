namespace Asgilook.Imaging;

/// <summary>Says at startup which image engine runs, so an operator reading the log knows what decodes uploads.</summary>
internal sealed partial class ImageEngineLog(IImageProcessor engine, ILogger<ImageEngineLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Started(logger, engine.Version, ImageFormats.NamesOf(engine.Reads));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Image engine: {Version}, reading {Formats}")]
    private static partial void Started(ILogger logger, string version, string formats);
}
