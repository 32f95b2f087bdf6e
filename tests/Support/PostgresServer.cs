using System.Diagnostics;

namespace Asgilook.Tests;

/// <summary>
/// A real PostgreSQL, initialised in a temporary folder and started on a free loopback port for a test
/// class (as the postgres user when the tests run as root, since PostgreSQL refuses to run as root).
/// Fails with a clear message when PostgreSQL is not installed.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private string? _folder;
    private string? _bin;
    private bool _asRoot;
    private Process? _server;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
    private int _databases;

    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(version => Path.Combine(version, "bin")).Where(Directory.Exists).Order().LastOrDefault()
            : null;
        if (_bin is null)
        {
            throw new InvalidOperationException(
                "PostgreSQL is not installed, and the PostgreSQL store tests need a real one. Run ./test.sh, which installs it (apt-get install postgresql).");
        }

        _folder = Directory.CreateTempSubdirectory("asgilook-postgres-").FullName;
        Port = Loopback.FreePort();
        _asRoot = Environment.UserName == "root";
        if (_asRoot)
        {
            await RunAsync("chown", "postgres:postgres", _folder);
        }

        await RunAsync(_asRoot, Path.Combine(_bin, "initdb"), "-D", Path.Combine(_folder, "data"), "-U", "postgres", "-A", "trust", "--no-sync");
        await StartAsync();
    }

    /// <summary>Starts the server (again) on its port, and waits until it answers.</summary>
    public async Task StartAsync()
    {
        _server?.Dispose();
        _server = Start(_asRoot, Path.Combine(_bin!, "postgres"),
            "-D", Path.Combine(_folder!, "data"), "-p", Port.ToString(), "-k", _folder!,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            // Every catalog a test makes has its own pool: the classes that run at once hold more than the default 100.
            "-c", "max_connections=300");
        // Read as it comes: a full pipe would block PostgreSQL's next log line, and with it the server.
        _server.ErrorDataReceived += (_, line) => { if (line.Data is not null) _log.Enqueue(line.Data); };
        _server.OutputDataReceived += (_, line) => { if (line.Data is not null) _log.Enqueue(line.Data); };
        _server.BeginErrorReadLine();
        _server.BeginOutputReadLine();
        await Loopback.WaitUntilAsync(() => _server.HasExited || Loopback.Accepts(Port), $"PostgreSQL did not accept connections on port {Port}", timeoutSeconds: 30);
        if (_server.HasExited)
        {
            // Otherwise whatever else answers on the port would be taken for this PostgreSQL.
            throw new InvalidOperationException($"PostgreSQL exited with code {_server.ExitCode} instead of listening on port {Port}:\n{string.Join('\n', _log)}");
        }

        // Accepting connections comes before accepting logins (recovery after a stop runs in between).
        await Loopback.WaitUntilAsync(AnswersAsync, $"PostgreSQL on port {Port} did not answer queries", timeoutSeconds: 30);
    }

    /// <summary>Stops the server as an administrator would (fast shutdown: clients are disconnected).</summary>
    public async Task StopAsync()
    {
        await RunAsync(_asRoot, Path.Combine(_bin!, "pg_ctl"), "-D", Path.Combine(_folder!, "data"), "stop", "-m", "fast", "-w");
        await _server!.WaitForExitAsync();
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync();
            return true;
        }
        catch (Npgsql.NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>A connection string to a new, empty database of this server.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        var name = $"asgilook_{Interlocked.Increment(ref _databases)}";
        await using var admin = new Npgsql.NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name};", admin);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Runs SQL as the superuser, outside any database the app uses.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var admin = new Npgsql.NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Unpooled: a pooled connection would outlive a restart of the server and fail once.</summary>
    private string AdminConnectionString => ConnectionString("postgres").Replace("Pooling=true", "Pooling=false", StringComparison.Ordinal);

    private string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=5";


    private static Task RunAsync(string program, params string[] arguments) => RunAsync(false, program, arguments);

    private static async Task RunAsync(bool asPostgres, string program, params string[] arguments)
    {
        using var process = Start(asPostgres, program, arguments);
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed: {await errors}");
        }
    }

    private static Process Start(bool asPostgres, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            foreach (var argument in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
    }
}
