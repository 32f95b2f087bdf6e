using Asgilook.Configuration;

namespace Asgilook.Sandbox;

/// <summary>How this program starts itself as a conversion worker, however it was started.</summary>
internal static class WorkerLaunches
{
    /// <summary>
    /// The variables a worker's environment holds, and nothing else: where the runtime and the native
    /// libraries are, and the limits of its own heaps. The server's settings (keys, passwords,
    /// connection strings) are never among them; a worker learns only what its arguments say.
    /// </summary>
    private static readonly string[] Passed = ["PATH", "DOTNET_ROOT", "DOTNET_ROOT_X64", "DOTNET_ROOT_ARM64", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "TMPDIR", "LANG"];

    public static WorkerLaunch For(AsgilookOptions settings)
    {
        var assembly = typeof(ConversionWorker).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var hostName = Path.GetFileNameWithoutExtension(host);
        IEnumerable<string> arguments = ConversionWorker.ArgumentsFor(settings);
        string program;
        if (string.Equals(hostName, Path.GetFileNameWithoutExtension(assembly), StringComparison.OrdinalIgnoreCase))
        {
            program = host; // the app's own executable (dotnet run, a published app)
        }
        else
        {
            // dotnet Asgilook.dll, or a test host: the runtime's host runs the assembly.
            program = string.Equals(hostName, "dotnet", StringComparison.OrdinalIgnoreCase)
                ? host
                : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet";
            arguments = arguments.Prepend(assembly);
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Passed)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                environment[name] = value;
            }
        }

        var heapBytes = settings.SandboxMemoryMegabytes * 1024L * 1024L;
        // Workstation GC, a managed heap that cannot outgrow the ceiling, glibc's arenas bounded as the server's are.
        environment["DOTNET_gcServer"] = "0";
        environment["DOTNET_GCHeapHardLimit"] = heapBytes.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        environment["MALLOC_ARENA_MAX"] = "2";
        return new WorkerLaunch(program, [.. arguments], environment);
    }
}
