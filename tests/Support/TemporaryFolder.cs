namespace Asgilook.Tests;

/// <summary>A fresh folder under the system's temp folder, deleted with everything in it when disposed.</summary>
public sealed class TemporaryFolder(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The stored JPEGs, when the folder is a storage folder.</summary>
    public string[] Images() => Directory.GetFiles(Path, "*.jpeg");

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
