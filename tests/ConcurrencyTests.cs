using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>Many requests at once, and several server processes on one storage folder.</summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class ConcurrencyTests(RedisCacheBackend redis) : IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task FortyUploadsAtOnceAreAllStoredAndListed()
    {
        // One test client is one client: its shares of the queue and the upload memory are lifted for this.
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadsInFlightPerClient"] = "40", ["Asgilook:ImageQueuePerClient"] = "40",
        });
        var pngs = Enumerable.Range(0, 40).Select(_ => TestImages.RandomEllipses(320, 180)).ToArray(); // forty contents

        var posted = await Task.WhenAll(pngs.Select(png => app.Client.PostImageAsync(png)));

        var ids = posted.Select(image => image.GetProperty("id").GetString()).ToHashSet();
        Assert.Equal(40, ids.Count);
        var listed = (await app.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().Select(image => image.GetProperty("id").GetString());
        Assert.Equal(ids.Order(), listed.Order());
        Assert.Equal(40, app.StoredFiles().Length);
    }

    [Fact]
    public async Task TwoServerProcessesOnOneStorageFolderSeeEachOthersUploadsAndDeletes()
    {
        await redis.ResetAsync();
        using var temporary = new TemporaryFolder("asgilook-shared-");
        var storage = temporary.Path;
        var environment = new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = storage, ["ASGI_LOOK_REDIS_HOST"] = redis.RedisHost };
        await using var a = await ServerProcess.StartAsync(environment);
        await using var b = await ServerProcess.StartAsync(environment);
        Assert.Equal("[]", await b.Client.GetStringAsync("/images"));

        using var posted = await a.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        var image = await posted.Content.ReadFromJsonAsync<JsonElement>();
        var uri = image.GetProperty("image").GetString()!;
        var thumbnail = image.GetProperty("thumbnails")[0].GetString()!;

        var seenByB = await b.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Equal(image.GetProperty("id").GetString(), Assert.Single(seenByB.EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal((640, 360), TestImages.SizeOf(await b.Client.GetByteArrayAsync(uri)));
        Assert.Equal((320, 180), TestImages.SizeOf(await a.Client.GetByteArrayAsync(thumbnail)));

        using (var deleted = await b.Client.DeleteImageAsync(image))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        foreach (var gone in new[] { uri, thumbnail })
        {
            using var response = await a.Client.GetAsync(gone);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Equal("[]", await a.Client.GetStringAsync("/images"));
    }
}
