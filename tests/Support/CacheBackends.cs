namespace Asgilook.Tests;

/// <summary>Which response-cache store a test app runs with.</summary>
public interface ICacheBackend
{
    /// <summary>The Asgilook:RedisHost setting; empty for the in-process memory store.</summary>
    string RedisHost { get; }

    /// <summary>Empties the cache, so that every test starts cold.</summary>
    Task ResetAsync();
}

public sealed class MemoryCacheBackend : ICacheBackend
{
    public string RedisHost => string.Empty;

    public Task ResetAsync() => Task.CompletedTask;
}

/// <summary>A test class fixture: its own real redis-server, flushed before each test.</summary>
public sealed class RedisCacheBackend : ICacheBackend, IAsyncLifetime
{
    public RedisServer Server { get; } = new();

    public string RedisHost => Server.Url;

    public Task ResetAsync() => Server.FlushAsync();

    public Task InitializeAsync() => Server.InitializeAsync();

    public Task DisposeAsync() => Server.DisposeAsync();
}
