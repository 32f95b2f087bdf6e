using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Asgilook.Tests;

/// <summary><c>deploy/cluster.sh</c> run for real, as an operator runs it: started, waited for until ready, stopped with SIGTERM.</summary>
public sealed partial class ClusterScript : IAsyncDisposable
{
    private readonly Process _script;
    private readonly Task<string> _errors;

    private ClusterScript(Process script, IReadOnlyList<string> output)
    {
        _script = script;
        _errors = script.StandardError.ReadToEndAsync();
        Output = string.Join('\n', output);
        Folder = WorkFolder().Match(Output).Groups[1].Value;
    }

    /// <summary>What the script printed until it said it was ready.</summary>
    public string Output { get; }

    /// <summary>Its temporary folder (data, logs, cluster.env).</summary>
    public string Folder { get; }

    public bool Started => Directory.Exists(Folder);

    public async Task<string> ErrorsAsync() => _script.HasExited ? await _errors : string.Empty;

    /// <summary>Starts the script with nginx on <paramref name="port"/> and the instances above it, and waits until it says it is ready.</summary>
    public static async Task<ClusterScript> StartAsync(int port, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(Repository.Root, "deploy", "cluster.sh"), "--instances", "2", "--port", port.ToString() }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASGILOOK_DLL"] = Path.Combine(AppContext.BaseDirectory, "Asgilook.dll");
        start.Environment["POSTGRES_PORT"] = Loopback.FreePort().ToString();
        start.Environment["REDIS_PORT"] = Loopback.FreePort().ToString();
        var script = Process.Start(start)!;
        var output = new List<string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            while (await script.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.Add(line);
                if (line.Contains("ready", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        return new ClusterScript(script, output);
    }

    /// <summary>Stops it as Ctrl-C would, and waits for it to have cleaned up.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_script.HasExited)
        {
            using (var stop = Process.Start("kill", ["-TERM", _script.Id.ToString()]))
            {
                await stop.WaitForExitAsync();
            }

            await _script.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        }

        _script.Dispose();
    }

    [GeneratedRegex(@"files and logs in (\S+)")]
    private static partial Regex WorkFolder();
}
