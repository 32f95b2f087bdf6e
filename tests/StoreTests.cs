using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Asgilook.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>The durable store: what survives a restart, what the storage folder holds, what startup repairs.</summary>
public sealed class StoreTests
{
    [Fact]
    public async Task ImagesSurviveARestart()
    {
        using var temporary = new TemporaryFolder("asgilook-restart-");
        var storage = temporary.Path;
        string before;
        await using (var first = await TestApp.StartAsync(storagePath: storage))
        {
            for (var i = 0; i < 3; i++)
            {
                await first.Client.PostImageAsync(TestImages.RandomEllipses());
            }

            before = await first.Client.GetStringAsync("/images?limit=10");
        }

        await using var second = await TestApp.StartAsync(storagePath: storage);
        var after = await second.Client.GetStringAsync("/images?limit=10");
        Assert.Equal(before, after);

        var ids = JsonSerializer.Deserialize<JsonElement>(after).EnumerateArray().Select(image => image.GetProperty("id").GetString()).ToArray();
        Assert.Equal(TestApp.PredictableIds.Select(id => id.ToString()), ids);
        var jpeg = await second.Client.GetByteArrayAsync($"/images/{ids[0]}.jpeg");
        Assert.Equal((640, 360), TestImages.SizeOf(jpeg));
        Assert.Equal((320, 180), TestImages.SizeOf(await second.Client.GetByteArrayAsync($"/thumbnails/{ids[0]}/320x180.jpeg")));
    }

    [Fact]
    public async Task StorageFolderHoldsTheJpegsAndAWalDatabase()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses());

        Assert.Equal([$"{TestApp.PredictableIds[0]}.jpeg"], app.StoredFiles().Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(Path.Combine(app.StoragePath, ImageFiles.IncomingFolder)));
        await using var database = new SqliteConnection($"Data Source={Path.Combine(app.StoragePath, SqliteImageCatalog.FileName)}");
        await database.OpenAsync();
        await using var journal = database.CreateCommand();
        journal.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", await journal.ExecuteScalarAsync());
    }

    [Fact]
    public async Task CatalogRecordsLengthAndHashOfTheStoredFile()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var id = TestApp.PredictableIds[0];

        var image = await app.Services.GetRequiredService<IImageCatalog>().GetAsync(id, CancellationToken.None);

        var file = await File.ReadAllBytesAsync(Path.Combine(app.StoragePath, $"{id}.jpeg"));
        Assert.NotNull(image);
        Assert.Equal(file.Length, image.ByteLength);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file)), image.Sha256);
        Assert.Equal((640, 360), (image.Width, image.Height));
    }

    [Fact]
    public async Task StartupRemovesWhatACrashLeavesBehind()
    {
        using var temporary = new TemporaryFolder("asgilook-repair-");
        var storage = temporary.Path;
        await using (var first = await TestApp.StartAsync(storagePath: storage))
        {
            for (var i = 0; i < 2; i++)
            {
                await first.Client.PostImageAsync(TestImages.RandomEllipses());
            }
        }

        var longAgo = DateTime.UtcNow.AddHours(-1);
        var unfinished = Path.Combine(storage, ImageFiles.IncomingFolder, $"{Guid.NewGuid()}.part");
        var orphan = Path.Combine(storage, $"{Guid.NewGuid()}.jpeg");
        var recentOrphan = Path.Combine(storage, $"{Guid.NewGuid()}.jpeg");
        foreach (var path in new[] { unfinished, orphan, recentOrphan })
        {
            await File.WriteAllBytesAsync(path, [0xFF, 0xD8, 0xFF]);
        }

        File.SetLastWriteTimeUtc(unfinished, longAgo);
        File.SetLastWriteTimeUtc(orphan, longAgo);
        var fileGone = TestApp.PredictableIds[1];
        File.Delete(Path.Combine(storage, $"{fileGone}.jpeg"));

        await using (var second = await TestApp.StartAsync(storagePath: storage))
        {
            Assert.False(File.Exists(unfinished));
            Assert.False(File.Exists(orphan));
            Assert.True(File.Exists(recentOrphan), "an upload another process may be finishing must be left alone");
            var quarantined = Directory.GetFiles(Path.Combine(storage, ImageFiles.QuarantineFolder), "*", SearchOption.AllDirectories).Select(Path.GetFileName);
            Assert.Equal(new[] { Path.GetFileName(unfinished), Path.GetFileName(orphan) }.Order(), quarantined.Order()); // moved aside, never deleted

            // A listed image whose file is gone stays listed (it answers 404) until told otherwise: its row is never deleted unasked.
            Assert.Equal(2, (await second.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
            using var gone = await second.Client.GetAsync($"/images/{fileGone}.jpeg");
            await gone.AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.Single(second.Logs.Warnings(nameof(StorageStartup)), warning => warning.Contains("1 listed image(s) have no file", StringComparison.Ordinal));
        }

        await using var told = await TestApp.StartAsync(storagePath: storage, settings: new Dictionary<string, string?> { ["Asgilook:UnlistMissingFiles"] = "true" });
        var listed = await told.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Equal(TestApp.PredictableIds[0].ToString(), Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        Assert.Single(told.Logs.Warnings(nameof(StorageStartup)), warning => warning.Contains("1 listed image(s) without a file unlisted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFileThatCannotBeReadAtStartupIsNeverTakenForALostOne()
    {
        using var temporary = new TemporaryFolder("asgilook-unreadable-");
        var storage = temporary.Path;
        await using (var first = await TestApp.StartAsync(storagePath: storage))
        {
            await first.Client.PostImageAsync(TestImages.RandomEllipses());
        }

        // What a network mount's bad minute looks like to stat: an error that is not "no such file" (here a symbolic link loop).
        var path = Path.Combine(storage, $"{TestApp.PredictableIds[0]}.jpeg");
        var saved = path + ".saved";
        File.Move(path, saved);
        File.CreateSymbolicLink(path, path);

        await using (var during = await TestApp.StartAsync(storagePath: storage, settings: new Dictionary<string, string?> { ["Asgilook:UnlistMissingFiles"] = "true" }))
        {
            Assert.Equal(1, (await during.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
            Assert.Single(during.Logs.Warnings(nameof(StorageStartup)), warning => warning.Contains("could not be read at startup", StringComparison.Ordinal));
        }

        // The mount comes back: the image was never unlisted, nor its file quarantined.
        File.Delete(path);
        File.Move(saved, path);
        await using var after = await TestApp.StartAsync(storagePath: storage);
        using var original = await after.Client.GetAsync($"/images/{TestApp.PredictableIds[0]}.jpeg");
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
    }

    [Fact]
    public async Task ListedImageWhoseFileVanishedIsNotFoundNotBroken()
    {
        await using var app = await TestApp.StartAsync();
        var id = TestApp.PredictableIds[0];
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        File.Delete(Path.Combine(app.StoragePath, $"{id}.jpeg"));

        using var original = await app.Client.GetAsync($"/images/{id}.jpeg");
        using var thumbnail = await app.Client.GetAsync($"/thumbnails/{id}/160x90.jpeg");

        await original.AssertProblemAsync(HttpStatusCode.NotFound);
        await thumbnail.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PagesFollowTheNextLinkInUploadOrder()
    {
        await using var app = await TestApp.StartAsync();
        var png = TestImages.RandomEllipses(200, 100);
        for (var i = 0; i < 5; i++)
        {
            await app.Client.PostImageAsync(png);
        }

        var everything = (await app.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().Select(Id).ToArray();
        var paged = new List<string>();
        var pageSizes = new List<int>();
        string? next = "/images?limit=2";
        while (next is not null)
        {
            using var response = await app.Client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(Id).ToArray();
            paged.AddRange(page);
            pageSizes.Add(page.Length);
            next = response.Headers.TryGetValues("Link", out var links) ? ParseNext(links.Single()) : null;
        }

        Assert.Equal(5, everything.Length);
        Assert.Equal(everything, paged);
        Assert.Equal([2, 2, 1], pageSizes);
    }

    [Fact]
    public async Task FullLastPageHasNoNextLink()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses(200, 100));

        using var response = await app.Client.GetAsync("/images?limit=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Link"));
    }

    [Theory]
    [InlineData("/images?limit=0", "limit")]
    [InlineData("/images?limit=1001", "limit")]
    [InlineData("/images?limit=ten", "limit")]
    [InlineData("/images?after=not-a-uuid", "after")]
    [InlineData("/images?limit=5&after=1a256a8a-2063-46ff-b53f-d04d5bcf5eee", "no stored image")]
    public async Task BadListQueriesAreRefused(string uri, string detail)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync(uri);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
    }

    private static string Id(JsonElement image) => image.GetProperty("id").GetString()!;

    private static string ParseNext(string link)
    {
        Assert.EndsWith(">; rel=\"next\"", link);
        return link[1..link.IndexOf('>', StringComparison.Ordinal)];
    }
}
