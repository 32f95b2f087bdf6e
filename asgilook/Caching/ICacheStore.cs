namespace Asgilook.Caching;

/// <summary>Where the response cache keeps its entries: Redis, or the process's own memory.</summary>
public interface ICacheStore
{
    /// <summary>What runs, for the startup log (no secrets).</summary>
    string Description { get; }

    /// <summary>Connects and checks the connection (the tutorial's <c>process_startup</c>).</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Closes the connection (the tutorial's <c>process_shutdown</c>).</summary>
    Task StopAsync(CancellationToken cancellationToken);

    Task<byte[]?> GetAsync(string key);

    Task SetAsync(string key, byte[] value, TimeSpan timeToLive);

    Task DeleteAsync(string key);
}
