using System.Diagnostics;
using Amazon.S3;
using Amazon.S3.Model;
using Asgilook.Configuration;
using Asgilook.Storage.Bucket;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// The test classes that use the S3 server: they share one Ceph cluster for the suite rather than start one per class
/// (five at once, at the suite's start, on a 2-core machine), and run one after the other, since one of them stops and
/// starts its gateway. Each test takes a bucket of its own.
/// </summary>
[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Server>
{
    public const string Name = "S3";
}

/// <summary>
/// A real S3 server for the test classes of <see cref="S3Collection"/>: Ceph radosgw over a one-OSD, in-memory Ceph cluster on loopback, started by the
/// repository's <c>deploy/s3-local.sh</c> in a temporary folder (about 2 s). Its gateway can be stopped and started
/// again with every object kept, as a bucket that goes away and comes back.
/// </summary>
public sealed class S3Server : IAsyncLifetime
{
    public static readonly string AccessKey = "asgilook-test-access";
    public static readonly string SecretKey = Secrets.KeyPrefix + "s3-0123456789";

    private static readonly string Script = Path.Combine(Repository.Root, "deploy", "s3-local.sh");
    private TemporaryFolder? _folder;
    private int _buckets;

    public string Endpoint { get; private set; } = "";

    static S3Server() => Secrets.Remember(SecretKey);

    public async Task InitializeAsync()
    {
        if (!File.Exists("/usr/bin/radosgw"))
        {
            throw new InvalidOperationException("Ceph radosgw is not installed, and the S3 tests need a real one. Run ./test.sh, which installs it.");
        }

        // A short path: Ceph's admin sockets need one.
        _folder = new TemporaryFolder("asgilook-s3-");
        var output = await RunAsync("start");
        Endpoint = output.Split('\n').Single(line => line.StartsWith("S3_ENDPOINT=", StringComparison.Ordinal))["S3_ENDPOINT=".Length..].Trim();
    }

    /// <summary>A new, empty bucket's name (created by the first app that uses it, or by <see cref="Client"/>).</summary>
    public string NewBucket() => $"asgilook-{Interlocked.Increment(ref _buckets)}-{Guid.NewGuid():N}"[..40];

    /// <summary>The settings that point an app at <paramref name="bucket"/>, in the tutorial's variables.</summary>
    public Dictionary<string, string?> Settings(string bucket) => new()
    {
        ["ASGI_LOOK_S3_ENDPOINT"] = Endpoint,
        ["ASGI_LOOK_S3_BUCKET"] = bucket,
        ["ASGI_LOOK_S3_ACCESS_KEY"] = AccessKey,
        ["ASGI_LOOK_S3_SECRET_KEY"] = SecretKey,
    };

    /// <summary>The same, as <c>Asgilook:S3</c> configuration keys (for an in-process app).</summary>
    public Dictionary<string, string?> Configuration(string bucket) => new()
    {
        ["Asgilook:S3:Endpoint"] = Endpoint,
        ["Asgilook:S3:Bucket"] = bucket,
        ["Asgilook:S3:AccessKey"] = AccessKey,
        ["Asgilook:S3:SecretKey"] = SecretKey,
    };

    public S3Options Options(string bucket, TimeSpan? timeout = null) => new()
    {
        Endpoint = Endpoint, Bucket = bucket, AccessKey = AccessKey, SecretKey = SecretKey, Timeout = timeout ?? TimeSpan.FromSeconds(5),
    };

    /// <summary>A client of the server, to look at what the service stored.</summary>
    public IAmazonS3 Client() => S3Clients.Create(Options("unused"));

    /// <summary>Every key in the bucket.</summary>
    public async Task<List<string>> KeysAsync(string bucket)
    {
        using var client = Client();
        var keys = new List<string>();
        string? continuation = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, ContinuationToken = continuation });
            keys.AddRange((page.S3Objects ?? []).Select(item => item.Key));
            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
        return keys;
    }

    /// <summary>An object's bytes; null when there is none.</summary>
    public async Task<byte[]?> GetAsync(string bucket, string key)
    {
        using var client = Client();
        try
        {
            using var response = await client.GetObjectAsync(bucket, key);
            using var bytes = new MemoryStream();
            await response.ResponseStream.CopyToAsync(bytes);
            return bytes.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Writes an object as someone else than the service would (creating the bucket when it is new).</summary>
    public async Task PutAsync(string bucket, string key, byte[] bytes)
    {
        using var client = Client();
        try
        {
            await client.PutBucketAsync(bucket);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }

        await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(bytes) });
    }

    /// <summary>Stops the gateway only: the bucket is unreachable, its objects kept.</summary>
    public Task StopGatewayAsync() => RunAsync("stop-gateway");

    public Task StartGatewayAsync() => RunAsync("start-gateway");

    public async Task DisposeAsync()
    {
        if (_folder is not null)
        {
            await RunAsync("stop");
            _folder.Dispose();
        }
    }

    private async Task<string> RunAsync(string command)
    {
        var start = new ProcessStartInfo("bash", [Script, command, _folder!.Path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["S3_ACCESS_KEY"] = AccessKey;
        start.Environment["S3_SECRET_KEY"] = SecretKey;
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"deploy/s3-local.sh {command} failed: {await errors}");
        }

        return output;
    }
}
