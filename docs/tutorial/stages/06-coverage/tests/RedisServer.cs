using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace tests;

/// <summary>A real redis-server on a free loopback port, for one test class; or the Redis ASGI_LOOK_REDIS_HOST names.</summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;

    public string Host { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("ASGI_LOOK_REDIS_HOST") is { Length: > 0 } running)
        {
            Host = running;
            return;
        }

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _process = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
        });
        Host = $"127.0.0.1:{port}";
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(Host);
                return;
            }
            catch (RedisConnectionException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Empties Redis, so that every test starts with a cold cache.</summary>
    public async Task FlushAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{Host},allowAdmin=true");
        await redis.GetServers()[0].FlushAllDatabasesAsync();
    }

    public Task DisposeAsync()
    {
        _process?.Kill();
        _process?.Dispose();
        return Task.CompletedTask;
    }
}
