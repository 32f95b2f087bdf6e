using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StackExchange.Redis;

namespace Asgilook.Bench;

/// <summary>
/// The HTTP limit: Kestrel answering the same bytes as Asgilook with nothing in between, from memory
/// (<c>/memory/{name}</c>), from Redis (<c>/redis/{name}</c>, one GET per request) and from the file
/// (<c>/file/{name}</c>, send-file: what a miss served from a kept render is measured against), and, given an S3
/// endpoint and bucket (keys in S3_ACCESS_KEY and S3_SECRET_KEY), from the bucket (<c>/s3/{name}</c>: one plain SDK
/// GetObject per request, its body copied to the answer: what an original read from a bucket is measured against).
/// </summary>
internal static class BareKestrel
{
    public static async Task<int> RunAsync(int port, string work, string redisHost, string? s3Endpoint = null, string? bucket = null)
    {
        var files = Directory.GetFiles(work).Where(path => !Directory.Exists(path))
            .ToDictionary(path => Path.GetFileName(path), File.ReadAllBytes);
        var redis = await ConnectionMultiplexer.ConnectAsync(redisHost);
        var database = redis.GetDatabase();
        foreach (var (name, bytes) in files)
        {
            await database.StringSetAsync($"bare:{name}", bytes);
        }

        using var s3 = s3Endpoint is null ? null : new AmazonS3Client(
            new BasicAWSCredentials(Environment.GetEnvironmentVariable("S3_ACCESS_KEY"), Environment.GetEnvironmentVariable("S3_SECRET_KEY")),
            new AmazonS3Config
            {
                ServiceURL = s3Endpoint,
                ForcePathStyle = true,
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            });
        if (s3 is not null)
        {
            await s3.PutBucketAsync(bucket);
            foreach (var (name, bytes) in files)
            {
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = name, InputStream = new MemoryStream(bytes) });
            }
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
        // A moderation hook doing the least: it reads the JPEG it is sent and accepts it.
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            await request.Body.CopyToAsync(Stream.Null);
            return Results.NoContent();
        });
        if (s3 is not null)
        {
            app.MapGet("/s3/{name}", async (string name, HttpResponse response) =>
            {
                using var found = await s3.GetObjectAsync(bucket, name);
                response.ContentType = ContentType(name);
                response.ContentLength = found.ContentLength;
                await found.ResponseStream.CopyToAsync(response.Body);
            });
        }

        Console.WriteLine($"bare kestrel on {port} with {files.Count} files");
        await app.RunAsync();
        return 0;
    }

    private static string ContentType(string name) => name.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "image/jpeg";
}
