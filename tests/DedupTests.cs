using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Images;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// Identical uploads (the same converted JPEG, whatever container the pixels came in) keep their own ids, delete tokens,
/// owners and places in the list, and their bytes (the original and its kept renders) are stored once, until the last
/// upload using them is deleted. Across instances and crashes: CatalogContractTests and CrashTests; in a bucket:
/// BucketStorageTests.
/// </summary>
public sealed class DedupTests
{
    private static readonly Dictionary<string, string?> Keys = new()
    {
        ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
        ["Asgilook:UploadKeys:1"] = Secrets.OtherUploadKey,
    };

    [Fact]
    public async Task Identical_uploads_are_each_their_own_image_and_their_bytes_are_stored_once_until_the_last_goes()
    {
        await using var app = await TestApp.StartAsync(settings: Keys);
        var png = TestImages.RandomEllipses(640, 480);
        using var pixels = NetVips.Image.NewFromBuffer(png);
        var tiff = pixels.WriteToBuffer(".tif");

        var first = await app.Client.PostImageAsync(png, Secrets.UploadKey);
        var second = await app.Client.PostImageAsync(png, Secrets.OtherUploadKey);
        var third = await app.Client.PostImageAsync(tiff, Secrets.UploadKey); // the same pixels, another container
        var uploads = new[] { first, second, third };

        Assert.Equal(3, uploads.Select(image => image.GetProperty("id").GetString()).Distinct().Count());
        Assert.Equal(3, uploads.Select(image => image.GetProperty("delete_token").GetString()).Distinct().Count());
        Assert.Equal(3, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
        var stored = Assert.Single(app.StoredFiles());
        var original = await app.Client.GetByteArrayAsync(first.GetProperty("image").GetString());
        Assert.Equal(original.Length, new FileInfo(stored).Length);

        // Each is counted for its own key.
        using (var usage = await QuotaTests.GetUsageAsync(app, Secrets.UploadKey))
        {
            var figures = await usage.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((2, 2L * original.Length), (figures.GetProperty("images").GetInt32(), figures.GetProperty("bytes").GetInt64()));
        }

        // Thumbnails of any of them are rendered and kept once.
        var thumbnails = uploads.Select(image => image.GetProperty("thumbnails")[0].GetString()!).ToArray();
        var rendered = await Task.WhenAll(thumbnails.Select(uri => app.Client.GetByteArrayAsync(uri)));
        Assert.All(rendered, bytes => Assert.Equal(rendered[0], bytes));
        var renders = Assert.Single(Directory.GetDirectories(app.StoragePath, "*.renders"));

        // One's token deletes only that one.
        using (var forbidden = await app.Client.DeleteAsync(second.GetProperty("image").GetString()!, first.GetProperty("delete_token").GetString()))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        // The one whose bytes the others share goes first: the others stay whole.
        using (var deleted = await app.Client.DeleteImageAsync(first))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await app.Client.GetAsync(first.GetProperty("image").GetString())).StatusCode);
        Assert.Equal(original, await app.Client.GetByteArrayAsync(third.GetProperty("image").GetString()));
        Assert.Equal(rendered[0], await app.Client.GetByteArrayAsync(thumbnails[2]));
        Assert.Single(app.StoredFiles());

        foreach (var image in new[] { second, third })
        {
            using var deleted = await app.Client.DeleteImageAsync(image);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Empty(app.StoredFiles());
        Assert.False(Directory.Exists(renders));

        // Uploaded again after all went: stored again.
        var again = await app.Client.PostImageAsync(png, Secrets.UploadKey);
        Assert.Equal(original, await app.Client.GetByteArrayAsync(again.GetProperty("image").GetString()));
        Assert.Single(app.StoredFiles());
    }

    [Fact]
    public async Task Bytes_shared_by_an_upload_whose_first_is_deleted_survive_a_restart_that_settles_leftovers()
    {
        using var storage = new TemporaryFolder("asgilook-dedup-");
        // Leftovers go at once at a start: the shared bytes, named after the deleted first upload, must not be one.
        var settings = new Dictionary<string, string?>(Keys) { ["Asgilook:LeftoverGracePeriod"] = "00:00:00" };
        var photo = TestImages.RandomEllipses(640, 480);
        JsonElement second;
        byte[] original;
        await using (var app = await TestApp.StartAsync(settings: settings, storagePath: storage.Path))
        {
            var first = await app.Client.PostImageAsync(photo, Secrets.UploadKey);
            second = await app.Client.PostImageAsync(photo, Secrets.UploadKey);
            original = await app.Client.GetByteArrayAsync(first.GetProperty("image").GetString());
            await app.Client.GetByteArrayAsync(second.GetProperty("thumbnails")[0].GetString()); // a kept render too
            using var deleted = await app.Client.DeleteImageAsync(first);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await using var restarted = await TestApp.StartAsync(settings: settings, storagePath: storage.Path);
        Assert.Equal(original, await restarted.Client.GetByteArrayAsync(second.GetProperty("image").GetString()));
        Assert.Single(restarted.StoredFiles());
        Assert.Single(Directory.GetDirectories(storage.Path, "*.renders"));
        Assert.False(Directory.Exists(Path.Combine(storage.Path, ".quarantine")) && Directory.EnumerateFiles(Path.Combine(storage.Path, ".quarantine"), "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task Many_identical_uploads_at_once_store_one_copy()
    {
        await using var app = await TestApp.StartAsync(services: services => services.AddSingleton<IImageIdGenerator, RandomImageIdGenerator>());
        var photo = TestImages.RandomEllipses(800, 600);

        var posted = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => app.Client.PostImageAsync(photo)));

        Assert.Equal(8, posted.Select(image => image.GetProperty("id").GetString()).Distinct().Count());
        Assert.Single(app.StoredFiles());
        Assert.Empty(Directory.GetFiles(Path.Combine(app.StoragePath, Storage.ImageFiles.IncomingFolder)));
    }
}
