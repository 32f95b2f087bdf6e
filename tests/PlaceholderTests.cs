using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Storage;
using Microsoft.Data.Sqlite;

namespace Asgilook.Tests;

/// <summary>
/// Every image's JSON carries a placeholder made once at upload and kept in the catalog; images stored before
/// placeholders existed get theirs in the background after the next start, and the cached list follows.
/// </summary>
public sealed class PlaceholderTests
{
    [Fact]
    public async Task AnUploadAnswersItsPlaceholderAndTheListAndARestartKeepIt()
    {
        using var storage = new TemporaryFolder("asgilook-placeholder-");
        JsonElement uploaded;
        await using (var app = await TestApp.StartAsync(storagePath: storage.Path))
        {
            uploaded = await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        }

        var placeholder = uploaded.GetProperty("placeholder");
        Assert.StartsWith("data:image/webp;base64,", placeholder.GetProperty("preview").GetString());
        Assert.Matches("^#[0-9a-f]{6}$", placeholder.GetProperty("colour").GetString());
        await using var restarted = await TestApp.StartAsync(storagePath: storage.Path);
        var listed = (await restarted.Client.GetFromJsonAsync<JsonElement>("/images"))[0];
        Assert.Equal(placeholder.ToString(), listed.GetProperty("placeholder").ToString());
    }

    [Fact]
    public async Task AnImageStoredBeforePlaceholdersGetsOneAfterTheNextStartAndTheCachedListFollows()
    {
        using var storage = new TemporaryFolder("asgilook-placeholder-");
        await using (var app = await TestApp.StartAsync(storagePath: storage.Path))
        {
            await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 360));
        }

        // As an older version left it: the row without a placeholder.
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(storage.Path, SqliteImageCatalog.FileName)}"))
        {
            await connection.OpenAsync();
            await using var clear = connection.CreateCommand();
            clear.CommandText = "UPDATE images SET placeholder = NULL, colour = NULL;";
            Assert.Equal(1, await clear.ExecuteNonQueryAsync());
        }

        SqliteConnection.ClearAllPools();
        await using var restarted = await TestApp.StartAsync(storagePath: storage.Path);
        await Loopback.WaitUntilAsync(
            async () => (await restarted.Client.GetFromJsonAsync<JsonElement>("/images"))[0].GetProperty("placeholder").ValueKind == JsonValueKind.Object,
            "the older image got no placeholder");
        await Loopback.WaitUntilAsync( // logged once the batch is done, just after its row was written
            () => restarted.Logs.Entries.Any(entry => entry.Message.Contains("Made placeholders for 1 image(s)", StringComparison.Ordinal)),
            "the backfill did not say what it made");
    }
}
