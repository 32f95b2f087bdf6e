using StackExchange.Redis;

namespace Asgilook.Bench;

/// <summary>
/// The HTTP limit: Kestrel answering the same bytes as Asgilook with nothing in between, from memory
/// (<c>/memory/{name}</c>), from Redis (<c>/redis/{name}</c>, one GET per request) and from the file
/// (<c>/file/{name}</c>, send-file: what a miss served from a kept render is measured against).
/// </summary>
internal static class BareKestrel
{
    public static async Task<int> RunAsync(int port, string work, string redisHost)
    {
        var files = Directory.GetFiles(work).Where(path => !Directory.Exists(path))
            .ToDictionary(path => Path.GetFileName(path), File.ReadAllBytes);
        var redis = await ConnectionMultiplexer.ConnectAsync(redisHost);
        var database = redis.GetDatabase();
        foreach (var (name, bytes) in files)
        {
            await database.StringSetAsync($"bare:{name}", bytes);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapGet("/memory/{name}", (string name) =>
            files.TryGetValue(name, out var bytes) ? Results.Bytes(bytes, ContentType(name)) : Results.NotFound());
        app.MapGet("/redis/{name}", async (string name) =>
            await database.StringGetAsync($"bare:{name}") is { IsNull: false } value ? Results.Bytes((byte[])value!, ContentType(name)) : Results.NotFound());
        // Any file of the folder, also one written after the start (the kept render bench/run.sh copies there).
        app.MapGet("/file/{name}", (string name) => Path.GetFileName(name) == name && File.Exists(Path.Combine(work, name))
            ? Results.File(Path.Combine(Path.GetFullPath(work), name), ContentType(name))
            : Results.NotFound());
        Console.WriteLine($"bare kestrel on {port} with {files.Count} files");
        await app.RunAsync();
        return 0;
    }

    private static string ContentType(string name) => name.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "image/jpeg";
}
