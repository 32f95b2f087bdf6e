using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Asgilook.Tests;

/// <summary>The whole app with its metadata in PostgreSQL instead of SQLite.</summary>
public sealed class PostgresAppTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task ImagesAreListedFromPostgresAcrossRestartsAndDeleted()
    {
        var database = await postgres.NewDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["Asgilook:Database"] = database };
        using var temporary = new TemporaryFolder("asgilook-pg-");
        var storage = temporary.Path;
        await using (var first = await TestApp.StartAsync(settings: settings, storagePath: storage))
        {
            Assert.IsType<PostgresImageCatalog>(first.Services.GetRequiredService<IImageCatalog>());
            for (var i = 0; i < 3; i++)
            {
                await first.Client.PostImageAsync(TestImages.RandomEllipses());
            }

            Assert.False(File.Exists(Path.Combine(storage, SqliteImageCatalog.FileName)));
        }

        await using var second = await TestApp.StartAsync(settings: settings, storagePath: storage);
        var listed = await second.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Equal(TestApp.PredictableIds.Select(id => id.ToString()), listed.EnumerateArray().Select(image => image.GetProperty("id").GetString()));

        using var deleted = await second.Client.DeleteAsync($"/images/{TestApp.PredictableIds[1]}.jpeg");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(2, (await second.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Fact]
    public async Task BadConnectionStringFailsAtStartupSayingWhich()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:Database"] = "this is not=a;connection string" }));

        Assert.Contains("ASGI_LOOK_DATABASE", failure.Message);
    }
}
