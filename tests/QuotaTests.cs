using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// Quotas per upload key (<c>Asgilook:Quotas:*</c>, lemmy#2722): past either, an upload with that key is 507 of its own type
/// naming the quota and stores nothing; other keys go on; a delete frees quota at once; <c>GET /usage</c> tells a key its
/// figures; and the count is exact when one key uploads many at once (across instances: PostgresAppTests).
/// </summary>
public sealed class QuotaTests
{
    internal static Dictionary<string, string?> Settings(string? imagesPerKey = null, string? megabytesPerKey = null) => new()
    {
        ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
        ["Asgilook:UploadKeys:1"] = Secrets.OtherUploadKey,
        ["Asgilook:AdminKeys:0"] = Secrets.AdminKey,
        ["Asgilook:Quotas:ImagesPerKey"] = imagesPerKey,
        ["Asgilook:Quotas:MegabytesPerKey"] = megabytesPerKey,
    };

    [Fact]
    public async Task Past_its_image_quota_a_key_is_refused_before_its_body_is_read_and_a_delete_frees_room_at_once()
    {
        await using var app = await TestApp.StartAsync(settings: Settings(imagesPerKey: "2"), listen: true);
        var first = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);

        var problem = await (await PostAsync(app, Secrets.UploadKey)).AssertProblemAsync(HttpStatusCode.InsufficientStorage);
        Assert.Equal("urn:asgilook:problem:quota-exceeded", problem.GetProperty("type").GetString());
        Assert.Equal(("ImagesPerKey", 2, 2), (problem.GetProperty("quota").GetString(), problem.GetProperty("limit").GetInt32(), problem.GetProperty("used").GetInt32()));
        Assert.Contains("Quotas:ImagesPerKey", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, app.StoredFiles().Length);

        // Refused from its headers: 30 MB announced, 64 KiB sent.
        var (status, _, body) = await RawUpload.SendHeadersAndSomeOfTheBodyAsync(app.Port!.Value, 30_000_000, 64 * 1024, $"Bearer {Secrets.UploadKey}");
        Assert.Equal(507, status);
        Assert.Contains("quota-exceeded", body, StringComparison.Ordinal);

        // Another key is not counted against this one's quota.
        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.OtherUploadKey);

        using (var deleted = await app.Client.DeleteImageAsync(first))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        Assert.Equal(3, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Fact]
    public async Task An_image_that_does_not_fit_the_megabyte_quota_is_refused_and_nothing_of_it_stays()
    {
        await using var hook = await HookServer.StartAsync();
        var settings = Settings(megabytesPerKey: "1");
        settings["Asgilook:Moderation:Url"] = hook.Url;
        await using var app = await TestApp.StartAsync(settings: settings);
        var small = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        var stored = app.StoredFiles();

        // About 1 MB of JPEG: it would take the key past 1 MiB with the small one.
        using var refused = await PostAsync(app, Secrets.UploadKey, TestImages.Noise(1600, 1200));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.InsufficientStorage);

        Assert.Equal("MegabytesPerKey", problem.GetProperty("quota").GetString());
        Assert.Equal(1024 * 1024, problem.GetProperty("limit").GetInt64());
        Assert.Equal(await SizeAsync(app, small), problem.GetProperty("used").GetInt64());
        Assert.Equal(stored, app.StoredFiles());
        Assert.Single((await app.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray());
        Assert.Single(hook.Reviews); // the one past the quota was never shown to the hook (a hook may charge by the call)
    }

    [Fact]
    public async Task Usage_answers_a_keys_images_bytes_and_limits_and_only_to_an_upload_key()
    {
        await using var app = await TestApp.StartAsync(settings: Settings(imagesPerKey: "10", megabytesPerKey: "5"));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);

        using var usage = await GetUsageAsync(app, Secrets.UploadKey);
        Assert.Equal(HttpStatusCode.OK, usage.StatusCode);
        Assert.Equal("no-store", usage.Headers.CacheControl?.ToString());
        var figures = JsonDocument.Parse(await usage.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, figures.GetProperty("images").GetInt64());
        Assert.Equal(await SizeAsync(app, posted) + await SizeAsync(app, JsonDocument.Parse((await app.Client.GetStringAsync("/images"))).RootElement[1]),
            figures.GetProperty("bytes").GetInt64());
        Assert.Equal((10, 5 * 1024 * 1024), (figures.GetProperty("limits").GetProperty("images").GetInt64(), figures.GetProperty("limits").GetProperty("bytes").GetInt64()));

        using var other = await GetUsageAsync(app, Secrets.OtherUploadKey);
        Assert.Equal(0, JsonDocument.Parse(await other.Content.ReadAsStringAsync()).RootElement.GetProperty("images").GetInt64());

        foreach (var credential in new string?[] { null, Secrets.AdminKey, "not-a-key-" + new string('x', 8000), Secrets.UploadKey.ToUpperInvariant(), "' OR 1=1 --" })
        {
            using var refused = await GetUsageAsync(app, credential);
            await refused.AssertProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer realm=\"asgilook\"", refused.Headers.WwwAuthenticate.ToString());
        }
    }

    [Fact]
    public async Task Without_quotas_usage_says_there_is_no_limit()
    {
        await using var app = await TestApp.StartAsync(settings: Settings());
        using var usage = await GetUsageAsync(app, Secrets.UploadKey);
        var limits = JsonDocument.Parse(await usage.Content.ReadAsStringAsync()).RootElement.GetProperty("limits");
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (limits.GetProperty("images").ValueKind, limits.GetProperty("bytes").ValueKind));
    }

    private static async Task<long> SizeAsync(TestApp app, JsonElement image) =>
        (await app.Client.GetByteArrayAsync(image.GetProperty("image").GetString())).LongLength;

    internal static async Task<HttpResponseMessage> PostAsync(TestApp app, string key, byte[]? image = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(image ?? TestImages.RandomEllipses(320, 240)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await app.Client.SendAsync(request);
    }

    internal static async Task<HttpResponseMessage> GetUsageAsync(TestApp app, string? credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/usage");
        if (credential is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {credential}");
        }

        return await app.Client.SendAsync(request);
    }
}
