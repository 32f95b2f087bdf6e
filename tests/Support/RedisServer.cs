using System.Diagnostics;
using StackExchange.Redis;

namespace Asgilook.Tests;

/// <summary>
/// A real redis-server on a free loopback port, started for a test class and stopped after it
/// (nothing saved to disk). Fails with a clear message when redis-server is not installed.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    public int Port { get; private set; }

    /// <summary>The address in the tutorial's form, as ASGI_LOOK_REDIS_HOST takes it.</summary>
    public string Url => $"redis://127.0.0.1:{Port}/0";

    public IDatabase Database => Admin.GetDatabase();

    public IServer Server => Admin.GetServer("127.0.0.1", Port);

    private ConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("Redis has not started.");

    public async Task InitializeAsync()
    {
        await StartAsync();
        _admin = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},allowAdmin=true,abortConnect=false");
    }

    /// <summary>Starts redis-server (again, on the same port if it ran before).</summary>
    public async Task StartAsync()
    {
        if (Port == 0)
        {
            Port = Loopback.FreePort();
        }

        var executable = FindOnPath("redis-server") ?? throw new InvalidOperationException(
            "redis-server is not installed, and the Redis tests need a real one. " +
            "Run ./test.sh, which installs it (apt-get install redis-server), or install it yourself.");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes" })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Loopback.WaitUntilAsync(() => _process.HasExited || Loopback.Accepts(Port), $"redis-server did not accept connections on port {Port}");
        if (_process.HasExited)
        {
            // Otherwise whatever else answers on the port would be taken for this Redis.
            throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} instead of listening on port {Port}.");
        }
    }

    /// <summary>Stops redis-server at once, as a crash or an outage would.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Freezes redis-server (SIGSTOP): connections stay open but nothing answers, as in a hang.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Lets a paused redis-server go on (SIGCONT), with its data intact.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    public async Task FlushAsync() => await Server.FlushAllDatabasesAsync();

    /// <summary>The names of the clients connected now (CLIENT LIST).</summary>
    public async Task<string[]> ClientNamesAsync() =>
        [.. (await Server.ClientListAsync()).Select(client => client.Name ?? string.Empty)];

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        await StopAsync();
    }

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("Redis is not running.");
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString()]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }


    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
}
