using Asgilook.Configuration;
using Asgilook.Images;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Asgilook.Tests;

/// <summary>
/// A fresh Asgilook app per test (the tutorial's conftest.py): real files in a temporary storage
/// folder, predictable ids, and the cache store the test asks for, served through TestHost.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    /// <summary>The tutorial's predictable uuids, handed out in order; random ones after them.</summary>
    public static readonly Guid[] PredictableIds =
    [
        Guid.Parse("36562622-48e5-4a61-be67-e426b11821ed"),
        Guid.Parse("3bc731ac-8cd8-4f39-b6fe-1a195d3b4e74"),
        Guid.Parse("ba1c4951-73bc-45a4-a1f6-aa2b958dafa4"),
    ];

    private readonly WebApplication _app;
    private readonly bool _ownsStorage;

    private TestApp(WebApplication app, string storagePath, bool ownsStorage, CapturedLogs logs, int? port)
    {
        _app = app;
        _ownsStorage = ownsStorage;
        StoragePath = storagePath;
        Logs = logs;
        Port = port;
        Client = port is { } listening
            ? new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{listening}"), Timeout = TimeSpan.FromSeconds(30) }
            : app.GetTestClient();
    }

    /// <summary>The loopback port Kestrel listens on, for an app started with <c>listen: true</c>; null under TestHost.</summary>
    public int? Port { get; }

    public HttpClient Client { get; }

    public string StoragePath { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>What the app logged (information and above).</summary>
    public CapturedLogs Logs { get; }

    /// <param name="cache">The cache store; the in-process one when null. It is emptied first unless <paramref name="keepCache"/>.</param>
    /// <param name="storagePath">A storage folder to reuse (kept after the test); a fresh temporary one when null.</param>
    /// <param name="endpoints">Extra endpoints, mapped after the app's own (behind its middleware).</param>
    /// <param name="listen">Serve through Kestrel on a loopback port instead of TestHost, for clients on real sockets.</param>
    public static async Task<TestApp> StartAsync(
        ICacheBackend? cache = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        string? storagePath = null,
        bool keepCache = false,
        Action<WebApplication>? endpoints = null,
        bool listen = false)
    {
        cache ??= new MemoryCacheBackend();
        if (!keepCache)
        {
            await cache.ResetAsync();
        }

        var ownsStorage = storagePath is null;
        storagePath ??= Directory.CreateTempSubdirectory("asgilook-tests-").FullName;
        var logs = new CapturedLogs();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        int? port = null;
        if (listen)
        {
            port = Loopback.FreePort();
            builder.WebHost.UseSetting("urls", $"http://127.0.0.1:{port}");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);

        // Registered before AddAsgilook, so they win over its TryAdd defaults.
        builder.Services.AddSingleton<IImageIdGenerator>(new PredictableIdGenerator());
        services?.Invoke(builder.Services);

        builder.AddAsgilook();
        var configuration = new Dictionary<string, string?>
        {
            ["Asgilook:StoragePath"] = storagePath,
            ["Asgilook:RedisHost"] = cache.RedisHost,
            // On in every test (off by default), so that the run's log check reads every request's line too.
            [EmbeddedDefaults.RequestLogLevelKey] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);

        var app = builder.Build();
        app.UseAsgilook();
        endpoints?.Invoke(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (ownsStorage)
            {
                Directory.Delete(storagePath, recursive: true);
            }

            throw;
        }

        return new TestApp(app, storagePath, ownsStorage, logs, port);
    }

    /// <summary>The stored JPEG files (the catalog's database lives beside them).</summary>
    public string[] StoredFiles() => Directory.GetFiles(StoragePath, "*.jpeg");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsStorage)
        {
            Directory.Delete(StoragePath, recursive: true);
        }
    }

    private sealed class PredictableIdGenerator : IImageIdGenerator
    {
        private int _next;

        public Guid NewId()
        {
            var index = Interlocked.Increment(ref _next) - 1;
            return index < PredictableIds.Length ? PredictableIds[index] : Guid.NewGuid();
        }
    }
}
