using System.Diagnostics;
using System.Text.Json;
using Asgilook.Storage;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// <c>migrate-store</c>, run as an operator runs it, against a real S3 server: the folder's originals and kept renders
/// land in the bucket byte for byte, a second run copies nothing, a damaged or missing copy is sent again, and the
/// service then answers every image from the bucket.
/// </summary>
[Trait(Needs.Trait, Needs.S3)]
[Collection(S3Collection.Name)]
public sealed class StoreMigrationTests(S3Server s3)
{
    [Fact]
    public async Task A_folder_moves_into_a_bucket_resumably_and_the_service_answers_from_it()
    {
        using var storage = new TemporaryFolder("asgilook-migrate-");
        var posted = new List<JsonElement>();
        await using (var app = await TestApp.StartAsync(storagePath: storage.Path))
        {
            for (var i = 0; i < 3; i++)
            {
                posted.Add(await app.Client.PostImageAsync(TestImages.RandomEllipses(400 + i, 300)));
            }

            await app.Client.GetByteArrayAsync(posted[0].GetProperty("thumbnails")[0].GetString());
        }

        // Not this service's files: never copied.
        await File.WriteAllTextAsync(Path.Combine(storage.Path, "notes.jpeg"), "not an image of ours");
        var bucket = s3.NewBucket();

        var (first, output) = await MigrateAsync(storage.Path, bucket);
        Assert.True(first == 0, output);
        Assert.Contains("4/4 object(s): 4 copied", output);
        var keys = await s3.KeysAsync(bucket);
        Assert.Equal(5, keys.Count); // 3 originals, 1 render, the identity
        foreach (var key in keys)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(storage.Path, key)), await s3.GetAsync(bucket, key));
        }

        var (again, unchanged) = await MigrateAsync(storage.Path, bucket);
        Assert.Equal(0, again);
        Assert.Contains("4/4 object(s): 0 copied (0.0 MiB), 4 already there", unchanged);

        var render = keys.Single(key => key.Contains(".renders/", StringComparison.Ordinal));
        var lost = $"{posted[1].GetProperty("id").GetString()}.jpeg";
        await s3.PutAsync(bucket, render, "damaged"u8.ToArray());
        using (var client = s3.Client())
        {
            await client.DeleteObjectAsync(bucket, lost);
        }

        var (resumed, resumedOutput) = await MigrateAsync(storage.Path, bucket);
        Assert.Equal(0, resumed);
        Assert.Contains("2 copied", resumedOutput);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(storage.Path, render)), await s3.GetAsync(bucket, render));

        // The folder's originals aside: what the service answers comes from the bucket.
        var originals = posted.ToDictionary(image => image.GetProperty("image").GetString()!, image => File.ReadAllBytes(Path.Combine(storage.Path, $"{image.GetProperty("id").GetString()}.jpeg")));
        foreach (var file in Directory.GetFiles(storage.Path, "*.jpeg"))
        {
            File.Delete(file);
        }

        await using var moved = await TestApp.StartAsync(storagePath: storage.Path, settings: s3.Configuration(bucket));
        foreach (var (uri, bytes) in originals)
        {
            Assert.Equal(bytes, await moved.Client.GetByteArrayAsync(uri));
        }
    }

    [Fact]
    public async Task A_bucket_of_another_storage_is_refused_and_nothing_is_copied()
    {
        using var storage = new TemporaryFolder("asgilook-migrate-");
        await using (var app = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await app.Client.PostImageAsync(TestImages.RandomEllipses(200, 100));
        }

        var bucket = s3.NewBucket();
        await s3.PutAsync(bucket, BlobKeys.Identity, "another-storage"u8.ToArray());

        var (exit, output) = await MigrateAsync(storage.Path, bucket);

        Assert.Equal(2, exit);
        Assert.Contains("is storage another-storage, not this folder's", output);
        Assert.Equal([BlobKeys.Identity], await s3.KeysAsync(bucket));
        Assert.DoesNotContain(S3Server.SecretKey, output);
    }

    private async Task<(int Exit, string Output)> MigrateAsync(string folder, string bucket)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Asgilook.dll"));
        start.ArgumentList.Add("migrate-store");
        start.Environment["ASGI_LOOK_STORAGE_PATH"] = folder;
        foreach (var (name, value) in s3.Settings(bucket))
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var all = output + await errors;
        Secrets.Logged(all);
        return (process.ExitCode, all);
    }
}
