using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Asgilook.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// Every write has an owner: an upload answers a delete token shown nowhere else, and a delete needs
/// that token, its uploader's key or an admin key. What an attacker who can list everything tries.
/// </summary>
public sealed class OwnershipTests
{
    private static readonly Dictionary<string, string?> WithAdmin = new() { ["Asgilook:AdminKeys:0"] = Secrets.AdminKey };

    [Fact]
    public async Task UploadAnswersADeleteTokenThatIsShownNowhereElseAndStoredOnlyAsAHash()
    {
        await using var app = await TestApp.StartAsync();
        using var stream = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await Loopback.WaitUntilAsync(() => app.Services.GetRequiredService<Events.ImageEvents>().Listeners == 1, "the listener was not registered");

        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var token = posted.GetProperty("delete_token").GetString()!;

        Assert.Matches("^[A-Za-z0-9_-]{43}$", token); // 256 random bits, URL-safe
        var id = posted.GetProperty("id").GetString()!;
        foreach (var uri in new[] { "/images", "/images?limit=10", "/metrics", $"/thumbnails/{id}/320x180.jpeg" })
        {
            Assert.DoesNotContain(token, await app.Client.GetStringAsync(uri));
        }

        var streamed = await ReadEventLineAsync(events);
        Assert.Contains(id, streamed);
        Assert.DoesNotContain(token, streamed);
        Assert.DoesNotContain(app.Logs.Entries, entry => entry.Message.Contains(token, StringComparison.Ordinal));
        var (storedHash, owner) = await StoredOwnershipAsync(app, id);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))), storedHash);
        Assert.Null(owner);
    }

    [Fact]
    public async Task DeleteWithoutACredentialIs401WithAChallengeAndWithAWrongOneIs403AndNothingIsRemoved()
    {
        await using var app = await TestApp.StartAsync();
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
        using (await app.Client.GetAsync(thumbnail)) { }
        using (await app.Client.GetAsync("/images")) { }

        using var anonymous = await app.Client.DeleteAsync(posted.GetProperty("image").GetString()!, credential: null);
        await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer realm=\"asgilook\"", anonymous.Headers.WwwAuthenticate.ToString());
        using var wrong = await app.Client.DeleteAsync(posted.GetProperty("image").GetString()!, "not-the-token");
        await wrong.AssertProblemAsync(HttpStatusCode.Forbidden);
        using var basic = await SendAsync(app.Client, HttpMethod.Delete, posted.GetProperty("image").GetString()!, new AuthenticationHeaderValue("Basic", "YWRtaW46YWRtaW4="));
        await basic.AssertProblemAsync(HttpStatusCode.Unauthorized);

        // Refused deletes removed nothing and dropped no cached answer.
        Assert.Single(app.StoredFiles());
        using (var cached = await app.Client.GetAsync(thumbnail))
        {
            Assert.Equal("Hit", cached.CacheOutcome());
        }

        using (var list = await app.Client.GetAsync("/images"))
        {
            Assert.Equal("Hit", list.CacheOutcome());
        }

        using var owner = await app.Client.DeleteImageAsync(posted);
        Assert.Equal(HttpStatusCode.NoContent, owner.StatusCode);
        Assert.Empty(app.StoredFiles());
    }

    [Fact]
    public async Task ListingEverythingThenDeletingItFailsAndTheStoreIsIntact()
    {
        await using var app = await TestApp.StartAsync();
        var uploads = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            uploads.Add(await app.Client.PostImageAsync(TestImages.RandomEllipses()));
        }

        // The attacker lists every image, and holds the delete token of an image of its own.
        var own = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var listed = await app.Client.GetFromJsonAsync<JsonElement>("/images");
        var attempts = new List<HttpStatusCode>();
        foreach (var image in listed.EnumerateArray().Select(image => image.GetProperty("image").GetString()!))
        {
            if (image == own.GetProperty("image").GetString())
            {
                continue;
            }

            foreach (var credential in new[] { null, "", "x", own.GetProperty("delete_token").GetString(), new string('A', 43), Secrets.AdminKey })
            {
                using var response = await app.Client.DeleteAsync(image, credential);
                attempts.Add(response.StatusCode);
            }
        }

        Assert.Equal(18, attempts.Count);
        Assert.All(attempts, status => Assert.Contains(status, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden }));
        Assert.Equal(4, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
        Assert.Equal(4, app.StoredFiles().Length);
        foreach (var upload in uploads)
        {
            Assert.Equal((640, 360), TestImages.SizeOf(await app.Client.GetByteArrayAsync(upload.GetProperty("image").GetString())));
        }
    }

    [Fact]
    public async Task AnAdminKeyDeletesAnyImageEvenOneStoredBeforeTokensExisted()
    {
        await using var app = await TestApp.StartAsync(settings: WithAdmin);
        var recent = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var legacy = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        await ForgetOwnershipAsync(app, legacy.GetProperty("id").GetString()!); // as a row of the first version has none

        using var legacyToken = await app.Client.DeleteImageAsync(legacy);
        await legacyToken.AssertProblemAsync(HttpStatusCode.Forbidden);
        foreach (var image in new[] { recent, legacy })
        {
            using var deleted = await app.Client.DeleteAsync(image.GetProperty("image").GetString()!, Secrets.AdminKey);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Empty(app.StoredFiles());
        using var unknown = await app.Client.DeleteAsync($"/images/{Guid.NewGuid()}.jpeg", Secrets.AdminKey);
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task WithUploadKeysOnlyTheirHoldersUploadAndEachDeletesWhatItUploadedOnly()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
            ["Asgilook:UploadKeys:1"] = Secrets.OtherUploadKey,
            ["Asgilook:AdminKeys:0"] = Secrets.AdminKey,
        });
        var png = TestImages.RandomEllipses();

        foreach (var credential in new[] { null, "not-a-key", Secrets.AdminKey })
        {
            using var refused = await SendAsync(app.Client, HttpMethod.Post, "/images", credential is null ? null : new AuthenticationHeaderValue("Bearer", credential), png);
            await refused.AssertProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer realm=\"asgilook\"", refused.Headers.WwwAuthenticate.ToString());
        }

        Assert.Empty(app.StoredFiles());
        var mine = await app.Client.PostImageAsync(png, Secrets.UploadKey);
        var theirs = await app.Client.PostImageAsync(png, Secrets.OtherUploadKey);
        Assert.Equal(Credentials(Secrets.UploadKey), (await StoredOwnershipAsync(app, mine.GetProperty("id").GetString()!)).Owner);

        using (var notMine = await app.Client.DeleteAsync(theirs.GetProperty("image").GetString()!, Secrets.UploadKey))
        {
            await notMine.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var byKey = await app.Client.DeleteAsync(mine.GetProperty("image").GetString()!, Secrets.UploadKey))
        {
            Assert.Equal(HttpStatusCode.NoContent, byKey.StatusCode);
        }

        using (var byToken = await app.Client.DeleteImageAsync(theirs))
        {
            Assert.Equal(HttpStatusCode.NoContent, byToken.StatusCode);
        }

        Assert.Empty(app.StoredFiles());
    }

    [Fact]
    public async Task HostileAuthorizationHeadersAreRefusedAndNeverShown()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
        });
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(), Secrets.UploadKey);
        var image = posted.GetProperty("image").GetString()!;
        var token = posted.GetProperty("delete_token").GetString()!;
        const string Probe = "hunter2-probe";

        string[][] hostile =
        [
            ["Bearer"], ["Bearer    "], ["Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + Probe))],
            ["Bearer " + Probe + new string('x', 16_000)], ["Bearer " + Secrets.UploadKey + "\t" + Probe],
            ["Bearer " + Probe, "Bearer " + Secrets.UploadKey], ["Bearer " + Secrets.UploadKey + "," + Probe],
            ["Bearer " + token.ToUpperInvariant() + Probe], ["Bearer%20" + Secrets.UploadKey],
        ];
        foreach (var values in hostile)
        {
            foreach (var (method, uri) in new[] { (HttpMethod.Post, "/images"), (HttpMethod.Delete, image) })
            {
                using var request = new HttpRequestMessage(method, uri) { Content = method == HttpMethod.Post ? new ByteArrayContent(TestImages.RandomEllipses()) : null };
                Assert.True(request.Headers.TryAddWithoutValidation("Authorization", values));
                using var refused = await app.Client.SendAsync(request);

                Assert.True(refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest,
                    $"{method} with {values.Length} header(s) starting {values[0][..Math.Min(12, values[0].Length)]} was answered {(int)refused.StatusCode}");
                var body = await refused.Content.ReadAsStringAsync();
                Assert.DoesNotContain(Probe, body, StringComparison.Ordinal);
                Assert.DoesNotContain(Secrets.UploadKey, body, StringComparison.Ordinal);
            }
        }

        Assert.Single(app.StoredFiles()); // nothing stored, nothing deleted
        Assert.DoesNotContain(app.Logs.Entries, entry => $"{entry.Message} {entry.Exception}".Contains(Probe, StringComparison.Ordinal)
            || entry.Message.Contains(Secrets.UploadKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARevokedUploadKeyNeitherUploadsNorDeletesWhatItUploaded()
    {
        using var storage = new TemporaryFolder("asgilook-revoked-");
        JsonElement posted;
        await using (var before = await TestApp.StartAsync(storagePath: storage.Path, settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
        }))
        {
            posted = await before.Client.PostImageAsync(TestImages.RandomEllipses(), Secrets.UploadKey);
        }

        // The operator removes the key (it leaked) and restarts.
        await using var after = await TestApp.StartAsync(storagePath: storage.Path, settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.OtherUploadKey,
            ["Asgilook:AdminKeys:0"] = Secrets.AdminKey,
        });
        using (var upload = await SendAsync(after.Client, HttpMethod.Post, "/images", new AuthenticationHeaderValue("Bearer", Secrets.UploadKey), TestImages.RandomEllipses()))
        {
            await upload.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using (var delete = await after.Client.DeleteAsync(posted.GetProperty("image").GetString()!, Secrets.UploadKey))
        {
            await delete.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        Assert.Single(after.StoredFiles());
        // Its images stay, and the delete token and an admin key still delete them.
        using var byToken = await after.Client.DeleteImageAsync(posted);
        Assert.Equal(HttpStatusCode.NoContent, byToken.StatusCode);
    }

    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task AnUploadWithoutAKeyIsRefusedFromItsHeadersBeforeTheBodyArrives()
    {
        using var storage = new TemporaryFolder("asgilook-keys-");
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["ASGI_LOOK_UPLOAD_KEYS"] = $"{Secrets.UploadKey},{Secrets.OtherUploadKey}",
        });

        // 30 MB announced, 64 KiB sent: the answer comes while the client still holds the rest.
        var (status, headers, body) = await RawUpload.SendHeadersAndSomeOfTheBodyAsync(server.Port, 30_000_000, 64 * 1024, "Bearer wrong-key");

        Assert.Equal(401, status);
        Assert.Contains("WWW-Authenticate: Bearer realm=\"asgilook\"", headers);
        Assert.Contains("application/problem+json", headers);
        Assert.Contains("Upload key required", body);
        Assert.Empty(Directory.GetFiles(storage.Path, "*.jpeg"));
        Assert.Equal("0", await MetricAsync(server, "asgilook_upload_bytes_total"));
    }

    private static string Credentials(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string uri, AuthenticationHeaderValue? authorization, byte[]? body = null)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = body is null ? null : new ByteArrayContent(body) };
        request.Headers.Authorization = authorization;
        return await client.SendAsync(request);
    }

    private static async Task<(string? Hash, string? Owner)> StoredOwnershipAsync(TestApp app, string id)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(app.StoragePath, SqliteImageCatalog.FileName)};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT delete_token_hash, owner_key_id FROM images WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    private static async Task ForgetOwnershipAsync(TestApp app, string id)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(app.StoragePath, SqliteImageCatalog.FileName)};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE images SET delete_token_hash = NULL, owner_key_id = NULL WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private static async Task<string> ReadEventLineAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new EndOfStreamException("The event stream ended.");
    }

    private static async Task<string> MetricAsync(ServerProcess server, string name)
    {
        var text = await server.Client.GetStringAsync("/metrics");
        return text.Split('\n').Where(line => line.StartsWith(name, StringComparison.Ordinal)).Select(line => line.Split(' ')[1]).FirstOrDefault() ?? "0";
    }
}
