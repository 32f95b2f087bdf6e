namespace Asgilook;

/// <summary>The tutorial's config.py: where images are stored, and how their ids are made.</summary>
public sealed class Config
{
    // Made absolute: Results.File would take a relative path for one under the web root.
    public string StoragePath { get; init; } =
        Path.GetFullPath(Environment.GetEnvironmentVariable("ASGI_LOOK_STORAGE_PATH") ?? Path.Combine(Path.GetTempPath(), "asgilook"));

    public Func<Guid> NewId { get; init; } = Guid.NewGuid;
}
