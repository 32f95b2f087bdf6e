namespace Asgilook;

/// <summary>The tutorial's config.py: storage, ids, the smallest thumbnail, and where Redis is.</summary>
public sealed class Config
{
    // Made absolute: Results.File would take a relative path for one under the web root.
    public string StoragePath { get; init; } =
        Path.GetFullPath(Environment.GetEnvironmentVariable("ASGI_LOOK_STORAGE_PATH") ?? Path.Combine(Path.GetTempPath(), "asgilook"));

    public Func<Guid> NewId { get; init; } = Guid.NewGuid;

    public int MinThumbSize { get; init; } = 64;

    public string RedisHost { get; init; } = Environment.GetEnvironmentVariable("ASGI_LOOK_REDIS_HOST") ?? "localhost:6379";
}
