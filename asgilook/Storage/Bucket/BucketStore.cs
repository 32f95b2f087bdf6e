using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Operations;

namespace Asgilook.Storage.Bucket;

/// <summary>
/// The images' bytes in an S3 bucket (<see cref="S3Options"/>), named as in the folder (<see cref="BlobKeys"/>). A PUT
/// is acknowledged by S3 once the object is durable and whole, and carries its Content-MD5, which the server checks; an
/// original is created only where none exists (If-None-Match). Every call is bounded by <see cref="S3Options.Timeout"/>;
/// a bucket that cannot be reached throws <see cref="StoreUnavailableException"/> with a reason safe to show.
/// </summary>
public sealed class BucketStore : IBlobStore, IDisposable
{
    /// <summary>Where the readiness probe writes.</summary>
    public const string ProbePrefix = ".asgilook-probe/";

    /// <summary>The largest render read whole (renders are bounded by MaxThumbnailPixels, far below this).</summary>
    private const int MaxRenderBytes = 64 * 1024 * 1024;

    private readonly AmazonS3Client _s3;
    private readonly string _bucket;
    private readonly TimeSpan _timeout;

    /// <summary>How long a failed call marks the bucket away: the Retry-After its 503s carry.</summary>
    private static readonly TimeSpan AwayFor = TimeSpan.FromSeconds(5);

    private readonly AsgilookMetrics? _metrics;
    private volatile Away? _away;

    private sealed record Away(long At, string Reason);

    public BucketStore(S3Options options, AsgilookMetrics? metrics = null)
    {
        _metrics = metrics;
        _s3 = S3Clients.Create(options);
        _bucket = options.Bucket!;
        _timeout = options.Timeout;
        var endpoint = new Uri(options.Endpoint!);
        Description = $"bucket {_bucket} at {endpoint.Scheme}://{endpoint.Authority}";
    }

    public bool IsRemote => true;

    public string Description { get; }

    /// <summary>The client, for the migration command.</summary>
    internal IAmazonS3 Client => _s3;

    internal string Bucket => _bucket;

    public long? FreeBytes() => null;

    public string? AwayReason =>
        _away is { } away && Stopwatch.GetElapsedTime(away.At) < AwayFor ? away.Reason : null;

    public bool KnownMissing(Guid id) => false;

    public Task PrepareAsync(CancellationToken cancellationToken) => CallAsync("list", async token =>
    {
        try
        {
            await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, token);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, token);
        }

        return true;
    }, cancellationToken);

    public async Task WriteAsync(Guid id, byte[] jpeg, byte[]? animation, CancellationToken cancellationToken)
    {
        if (!await PutAsync(BlobKeys.Original(id), jpeg, "image/jpeg", createOnly: true, cancellationToken))
        {
            throw new IOException($"An original with the id {id} exists already.");
        }

        if (animation is not null)
        {
            await PutAsync(BlobKeys.Render(id, BlobKeys.Animation), animation, "image/webp", createOnly: false, cancellationToken);
        }
    }

    public async Task<Stream?> OpenOriginalAsync(Guid id, CancellationToken cancellationToken) =>
        await CallAsync("get", token => ObjectReadStream.OpenAsync(_s3, _bucket, BlobKeys.Original(id), _timeout, Description, token), cancellationToken);

    public Task<byte[]?> ReadOriginalAsync(Guid id, CancellationToken cancellationToken) =>
        GetBytesAsync(BlobKeys.Original(id), int.MaxValue, cancellationToken);

    public async Task DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await CallAsync("delete", token => _s3.DeleteObjectAsync(_bucket, BlobKeys.Original(id), token), cancellationToken);
        await DeleteRendersAsync(id, cancellationToken);
    }

    public async Task<Stream?> OpenRenderAsync(Guid id, string name, CancellationToken cancellationToken) =>
        await GetBytesAsync(BlobKeys.Render(id, name), MaxRenderBytes, cancellationToken) is { } bytes
            ? new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true) // its buffer is the render, for the cache
            : null;

    public Task<byte[]?> ReadRenderAsync(Guid id, string name, int maxBytes, CancellationToken cancellationToken) =>
        GetBytesAsync(BlobKeys.Render(id, name), maxBytes, cancellationToken);

    public async Task WriteRenderAsync(Guid id, string name, byte[] bytes, CancellationToken cancellationToken)
    {
        await PutAsync(BlobKeys.Render(id, name), bytes, MediaTypeOf(name), createOnly: false, cancellationToken);
        if (!await ExistsAsync(BlobKeys.Original(id), cancellationToken))
        {
            await DeleteRendersAsync(id, cancellationToken); // deleted while this was rendered
        }
    }

    public Task DeleteRenderAsync(Guid id, string name, CancellationToken cancellationToken) =>
        CallAsync("delete", token => _s3.DeleteObjectAsync(_bucket, BlobKeys.Render(id, name), token), cancellationToken);

    /// <summary>From one listing of the bucket's originals, not a request per image.</summary>
    public async Task<IReadOnlyDictionary<Guid, FilePresence>> PresenceAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        var present = new HashSet<Guid>();
        await foreach (var item in ListAsync(prefix: null, originalsOnly: true, cancellationToken))
        {
            if (BlobKeys.ImageOf(item.Key) is { } id)
            {
                present.Add(id);
            }
        }

        return ids.ToDictionary(id => id, id => present.Contains(id) ? FilePresence.Present : FilePresence.Missing);
    }

    public async Task ProbeWritableAsync(CancellationToken cancellationToken)
    {
        var key = $"{ProbePrefix}{Guid.NewGuid():N}";
        await PutAsync(key, [1], "application/octet-stream", createOnly: false, cancellationToken);
        await CallAsync("delete", token => _s3.DeleteObjectAsync(_bucket, key, token), cancellationToken);
    }

    public async Task<string?> ReadIdentityAsync(CancellationToken cancellationToken) =>
        await GetBytesAsync(BlobKeys.Identity, 1024, cancellationToken) is { } bytes ? Encoding.UTF8.GetString(bytes).Trim() : null;

    public async Task<string> ClaimIdentityAsync(string identity, CancellationToken cancellationToken) =>
        await PutAsync(BlobKeys.Identity, Encoding.UTF8.GetBytes(identity), "text/plain", createOnly: true, cancellationToken)
            ? identity
            : await ReadIdentityAsync(cancellationToken) ?? throw new IOException("The bucket's identity could not be read back.");

    public async Task<int> CountImagesAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        await foreach (var item in ListAsync(prefix: null, originalsOnly: true, cancellationToken))
        {
            count += BlobKeys.ImageOf(item.Key) is not null ? 1 : 0;
        }

        return count;
    }

    /// <summary>Deletes every original and render no catalogued image names, and forgotten probes, once older than the grace.</summary>
    public async Task<LeftoverReport> SettleLeftoversAsync(
        IReadOnlyCollection<Guid> catalogued, TimeSpan grace, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var doomed = new List<string>();
        var (originals, renders) = (0, 0);
        await foreach (var item in ListAsync(prefix: null, originalsOnly: false, cancellationToken))
        {
            var old = now - item.Modified >= grace;
            var image = BlobKeys.ImageOf(item.Key);
            var leftover = image is { } id ? !catalogued.Contains(id) : item.Key.StartsWith(ProbePrefix, StringComparison.Ordinal);
            if (old && leftover)
            {
                doomed.Add(item.Key);
                _ = BlobKeys.IsOriginal(item.Key) ? originals++ : renders++;
            }
        }

        await DeleteKeysAsync(doomed, cancellationToken);
        return new LeftoverReport(originals, renders, MovedTo: null);
    }

    public void Dispose() => _s3.Dispose();

    /// <summary>A render's media type, from its name's extension (for whoever reads the bucket directly: a CDN, an operator).</summary>
    private static string MediaTypeOf(string name) => ThumbnailFormats.FromExtension(Path.GetExtension(name).TrimStart('.')) is { } format
        ? format.MediaType()
        : "application/octet-stream";

    /// <summary>Writes an object; with <paramref name="createOnly"/>, false (and nothing written) when one exists already.</summary>
    private Task<bool> PutAsync(string key, byte[] bytes, string contentType, bool createOnly, CancellationToken cancellationToken) =>
        CallAsync("put", async token =>
        {
            var request = new PutObjectRequest
            {
                BucketName = _bucket,
                Key = key,
                InputStream = new MemoryStream(bytes, writable: false),
                ContentType = contentType,
                MD5Digest = Convert.ToBase64String(MD5.HashData(bytes)),
                IfNoneMatch = createOnly ? "*" : null,
                // A plain body signed by its SHA-256, not aws-chunked: radosgw keeps "Content-Encoding: aws-chunked" as
                // the object's own and sends it with every GET, which a browser or CDN fetching the object would obey.
                UseChunkEncoding = false,
            };
            try
            {
                await _s3.PutObjectAsync(request, token);
                return true;
            }
            catch (AmazonS3Exception e) when (createOnly && e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
            {
                return false;
            }
        }, cancellationToken);

    /// <summary>An object's bytes; null when it does not exist or is larger than <paramref name="maxBytes"/>.</summary>
    private Task<byte[]?> GetBytesAsync(string key, int maxBytes, CancellationToken cancellationToken) => CallAsync("get", async _ =>
    {
        using var bounded = new CancellationTokenSource(_timeout);
        try
        {
            using var response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, bounded.Token);
            if (response.ContentLength > maxBytes)
            {
                return null;
            }

            var bytes = new byte[response.ContentLength];
            await response.ResponseStream.ReadExactlyAsync(bytes, bounded.Token);
            return bytes;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }, cancellationToken);

    private Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => CallAsync("head", async token =>
    {
        try
        {
            await _s3.GetObjectMetadataAsync(_bucket, key, token);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }, cancellationToken);

    private async Task DeleteRendersAsync(Guid id, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var item in ListAsync($"{BlobKeys.Renders(id)}/", originalsOnly: false, cancellationToken))
        {
            keys.Add(item.Key);
        }

        await DeleteKeysAsync(keys, cancellationToken);
    }

    private async Task DeleteKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (var batch in keys.Chunk(1000))
        {
            await CallAsync("delete", token => _s3.DeleteObjectsAsync(new DeleteObjectsRequest
            {
                BucketName = _bucket,
                Objects = [.. batch.Select(key => new KeyVersion { Key = key })],
                Quiet = true,
            }, token), cancellationToken);
        }
    }

    /// <summary>
    /// The objects under <paramref name="prefix"/>; with <paramref name="originalsOnly"/>, only the top level (no renders). The ETag
    /// is unquoted: the MD5 of the bytes for an object sent in one PUT.
    /// </summary>
    internal async IAsyncEnumerable<(string Key, long Size, DateTimeOffset Modified, string? ETag)> ListAsync(
        string? prefix, bool originalsOnly, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? continuation = null;
        do
        {
            var page = await CallAsync("list", token => _s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _bucket,
                Prefix = prefix,
                Delimiter = originalsOnly ? "/" : null,
                ContinuationToken = continuation,
            }, token), cancellationToken);
            // An empty page's list is null in this SDK.
            foreach (var item in page.S3Objects ?? [])
            {
                yield return (item.Key, item.Size ?? 0, item.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime()) : DateTimeOffset.MinValue,
                    item.ETag?.Trim('"'));
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    /// <summary>Runs one call to the bucket; any way it cannot be reached becomes a <see cref="StoreUnavailableException"/>.</summary>
    /// <remarks>
    /// The call is bounded by <see cref="S3Options.Timeout"/> only, never cancelled with the request that made it: a GET
    /// cancelled as its client left (wrk ending a run with requests in flight) left the SDK's connection pool with a
    /// connection that broke the next answer's status line, a 500 for whoever came next (1 run in 3 before, 0 in 4 after).
    /// <paramref name="cancellationToken"/> is only checked before the call starts.
    /// </remarks>
    private async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call(CancellationToken.None);
            _metrics?.StoreCall(operation, reached: true, Stopwatch.GetElapsedTime(started));
            _away = null;
            return result;
        }
        catch (Exception e) when (Unreachable(e, cancellationToken))
        {
            _metrics?.StoreCall(operation, reached: false, Stopwatch.GetElapsedTime(started));
            var reason = Redaction.Describe(e);
            _away = new Away(Stopwatch.GetTimestamp(), reason);
            throw new StoreUnavailableException(Description, reason);
        }
    }

    private Task CallAsync(string operation, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        CallAsync(operation, async token => { await call(token); return true; }, cancellationToken);

    private static bool Unreachable(Exception e, CancellationToken cancellationToken) => e switch
    {
        StoreUnavailableException => false,
        OperationCanceledException when cancellationToken.IsCancellationRequested => false,
        AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException or TimeoutException => true,
        _ => false,
    };
}
