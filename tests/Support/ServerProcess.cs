using System.Collections.Concurrent;
using System.Diagnostics;

namespace Asgilook.Tests;

/// <summary>
/// The real server as a separate process, started as outside checks start it:
/// <c>dotnet Asgilook.dll --urls http://127.0.0.1:PORT</c>, configured through environment variables.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    private bool _disposed;

    public int Port { get; }

    public HttpClient Client { get; }

    public string Output => string.Join('\n', _output);

    public bool IsRunning => !_process.HasExited;

    public int Pid => _process.Id;

    /// <summary>The most memory the server's process has held (VmHWM), in MiB.</summary>
    public long PeakRssMegabytes() =>
        long.Parse(File.ReadAllLines($"/proc/{Pid}/status").Single(line => line.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;

    /// <summary>The memory the server's process holds now (VmRSS), in MiB.</summary>
    public long RssMegabytes() => StatusKilobytes(Pid, "VmRSS:") / 1024;

    /// <summary>Resets the peak (VmHWM) to what the process holds now, so that <see cref="PeakRssMegabytes"/> tells what came after.</summary>
    public void ResetPeakRss() => File.WriteAllText($"/proc/{Pid}/clear_refs", "5");

    /// <summary>The server's child processes (its conversion workers).</summary>
    public IReadOnlyList<int> ChildPids() =>
        [.. Directory.GetDirectories($"/proc/{Pid}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(pid => int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)).Distinct()];

    public static long StatusKilobytes(int pid, string field) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(line => line.StartsWith(field, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The sum of a counter in the server's <c>/metrics</c> over the series whose labels contain <paramref name="labels"/>; 0 when absent.</summary>
    public Task<double> MetricAsync(string name, string labels = "") => Client.MetricAsync(name, labels);

    /// <summary>A path as the server sees it, through its mount namespace (for a server started under <c>unshare -m</c>).</summary>
    public string SeenByServer(string path) => $"/proc/{Pid}/root{path}";

    public static Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, int? port = null) =>
        StartAsync(environment, AppContext.BaseDirectory, [Path.Combine(AppContext.BaseDirectory, "Asgilook.dll")], port: port);

    /// <summary>Starts <paramref name="executable"/> (dotnet) with these arguments (then <c>--urls</c>) in that folder.</summary>
    /// <param name="port">The port to listen on (a restart on the same address); a free one when null.</param>
    public static async Task<ServerProcess> StartAsync(
        IReadOnlyDictionary<string, string?> environment, string folder, string[] arguments, string executable = "dotnet", int? port = null)
    {
        port ??= Loopback.FreePort();
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var server = new ServerProcess(process, port.Value);
        process.OutputDataReceived += (_, line) => server.Received(line.Data);
        process.ErrorDataReceived += (_, line) => server.Received(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await Loopback.WaitUntilAsync(
            () => process.HasExited || server.Output.Contains("Application started", StringComparison.Ordinal),
            "the server did not start", timeoutSeconds: 60);
        if (process.HasExited)
        {
            throw new InvalidOperationException($"The server exited with code {process.ExitCode}:\n{server.Output}");
        }

        return server;
    }

    private void Received(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
            Secrets.Logged(line);
        }
    }

    /// <summary>Ends the server at once with SIGKILL: no shutdown hooks, no flushing, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Stops the server as an operator or an orchestrator does (SIGTERM), killing it when it has not ended within the grace.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = Signal(_process.Id, 15);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>Stopped gracefully, so that it shuts down its workers and (under coverage) writes what it ran.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Client.Dispose();
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);
}
