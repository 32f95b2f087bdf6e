using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Amazon.S3.Model;
using Asgilook.Configuration;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage.Bucket;

/// <summary>
/// <c>dotnet Asgilook.dll migrate-store</c>: copies the storage folder (<c>Asgilook:StoragePath</c>) into the bucket
/// (<c>Asgilook:S3</c>), under the same names. Each object is sent with its Content-MD5 (the server refuses bytes that
/// do not match it) and read back as its ETag; what the bucket holds already, byte for byte (same size and MD5), is not
/// sent again, so a run that stopped is resumed by running it again, and a finished one does nothing. The folder's
/// identity is written to the bucket last: until every object is there, no instance takes the bucket for this storage.
/// </summary>
public static class StoreMigration
{
    public const string Command = "migrate-store";

    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

    public static bool IsInvoked(string[] args) => args.Length > 0 && args[0] == Command;

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var builder = WebApplication.CreateBuilder(args[1..]);
        builder.AddAsgilookConfiguration();
        await using var services = builder.Services.BuildServiceProvider();
        AsgilookOptions options;
        try
        {
            options = services.GetRequiredService<IOptions<AsgilookOptions>>().Value;
        }
        catch (OptionsValidationException e)
        {
            await output.WriteLineAsync($"{Command}: the settings are not usable: {string.Join(" ", e.Failures)}");
            return 2;
        }

        if (!options.S3.Configured)
        {
            await output.WriteLineAsync($"{Command}: no bucket is set: set ASGI_LOOK_S3_ENDPOINT, ASGI_LOOK_S3_BUCKET and its keys.");
            return 2;
        }

        var folder = new ImageFiles(options.StoragePath);
        if (!Directory.Exists(folder.Root))
        {
            await output.WriteLineAsync($"{Command}: the storage folder {folder.Root} does not exist.");
            return 2;
        }

        using var bucket = new BucketStore(options.S3);
        try
        {
            return await CopyAsync(folder, bucket, output);
        }
        catch (StoreUnavailableException e)
        {
            await output.WriteLineAsync($"{Command}: {bucket.Description} cannot be reached ({e.Reason}); run it again to resume.");
            return 1;
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException)
        {
            await output.WriteLineAsync($"{Command}: stopped by {Operations.Redaction.Describe(e)}; run it again to resume.");
            return 1;
        }
    }

    private static async Task<int> CopyAsync(ImageFiles folder, BucketStore bucket, TextWriter output)
    {
        await bucket.PrepareAsync(CancellationToken.None);
        var identity = folder.ReadIdentity();
        if (await bucket.ReadIdentityAsync(CancellationToken.None) is { } claimed && claimed != identity)
        {
            await output.WriteLineAsync($"{Command}: {bucket.Description} is storage {claimed}, not this folder's ({identity ?? "none"}): nothing copied.");
            return 2;
        }

        // One listing says what the bucket holds (sizes and ETags), not a request per object.
        var there = new Dictionary<string, (long Size, string? ETag)>(StringComparer.Ordinal);
        await foreach (var item in bucket.ListAsync(prefix: null, originalsOnly: false, CancellationToken.None))
        {
            there[item.Key] = (item.Size, item.ETag);
        }

        var keys = Keys(folder.Root).ToList();
        var (copied, skipped, failed, bytes) = (0, 0, 0, 0L);
        var progress = Stopwatch.StartNew();
        await output.WriteLineAsync($"{Command}: copying {keys.Count} object(s) from {folder.Root} to {bucket.Description}");
        foreach (var key in keys)
        {
            var content = await File.ReadAllBytesAsync(Path.Combine(folder.Root, key));
            var md5 = MD5.HashData(content);
            if (there.TryGetValue(key, out var held) && held == (content.Length, Convert.ToHexStringLower(md5)))
            {
                skipped++;
            }
            else
            {
                await bucket.Client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = bucket.Bucket,
                    Key = key,
                    InputStream = new MemoryStream(content, writable: false),
                    ContentType = BlobKeys.IsOriginal(key) ? "image/jpeg" : "application/octet-stream",
                    MD5Digest = Convert.ToBase64String(md5),
                });
                if (await ETagAsync(bucket, key) == Convert.ToHexStringLower(md5))
                {
                    (copied, bytes) = (copied + 1, bytes + content.Length);
                }
                else
                {
                    failed++;
                    await output.WriteLineAsync($"{Command}: {key} reads back different from what was sent");
                }
            }

            if (progress.Elapsed >= ProgressEvery)
            {
                await output.WriteLineAsync(Progress(copied + skipped + failed, keys.Count, copied, skipped, bytes));
                progress.Restart();
            }
        }

        await output.WriteLineAsync(Progress(keys.Count, keys.Count, copied, skipped, bytes));
        if (failed > 0)
        {
            await output.WriteLineAsync($"{Command}: {failed} object(s) did not verify; run it again.");
            return 1;
        }

        if (identity is not null)
        {
            await bucket.ClaimIdentityAsync(identity, CancellationToken.None);
        }

        await output.WriteLineAsync($"{Command}: done. Start the service with these S3 settings (see docs/operations.md, \"Moving to a bucket\").");
        return 0;
    }

    /// <summary>The originals and kept renders of the folder, by the names they get in the bucket; nothing else (no catalog, no quarantine).</summary>
    private static IEnumerable<string> Keys(string root)
    {
        foreach (var original in Directory.EnumerateFiles(root, $"*{BlobKeys.OriginalExtension}").Order(StringComparer.Ordinal))
        {
            var key = Path.GetFileName(original);
            if (BlobKeys.ImageOf(key) is not { } id)
            {
                continue;
            }

            yield return key;
            var renders = Path.Combine(root, BlobKeys.Renders(id));
            if (Directory.Exists(renders))
            {
                foreach (var render in Directory.EnumerateFiles(renders).Order(StringComparer.Ordinal))
                {
                    yield return BlobKeys.Render(id, Path.GetFileName(render));
                }
            }
        }
    }

    private static async Task<string?> ETagAsync(BucketStore bucket, string key)
    {
        var metadata = await bucket.Client.GetObjectMetadataAsync(bucket.Bucket, key);
        return metadata.ETag?.Trim('"');
    }

    private static string Progress(int done, int total, int copied, int skipped, long bytes) => string.Create(
        CultureInfo.InvariantCulture, $"{Command}: {done}/{total} object(s): {copied} copied ({bytes / 1024.0 / 1024.0:0.0} MiB), {skipped} already there");
}
