using System.Net;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// An admin's <c>DELETE ?block=true</c>: the content is gone and stays gone (lemmy#1625): the same upload is refused with
/// a problem of its own type and stores nothing, after a restart too; only an admin key may block.
/// </summary>
public sealed class BlockedContentTests
{
    private static readonly Dictionary<string, string?> Keys = new()
    {
        ["Asgilook:AdminKeys:0"] = Secrets.AdminKey,
        ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
    };

    [Fact]
    public async Task A_blocked_upload_is_refused_with_its_own_type_stores_nothing_and_stays_blocked_after_a_restart()
    {
        using var storage = new TemporaryFolder("asgilook-blocked-");
        var photo = TestImages.RandomEllipses(320, 240);
        await using (var app = await TestApp.StartAsync(settings: Keys, storagePath: storage.Path))
        {
            var posted = await app.Client.PostImageAsync(photo, Secrets.UploadKey);
            using (var deleted = await app.Client.DeleteAsync($"{posted.GetProperty("image").GetString()}?block=true", Secrets.AdminKey))
            {
                Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            }

            await AssertRefusedAsync(app, photo);
            Assert.Contains(app.Logs.Warnings(nameof(Storage.ImageStore)), line => line.Contains("content blocked", StringComparison.Ordinal));

            // Other content is not touched by the block.
            await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        }

        await using var restarted = await TestApp.StartAsync(settings: Keys, storagePath: storage.Path);
        await AssertRefusedAsync(restarted, photo);
    }

    [Fact]
    public async Task Blocking_takes_down_every_upload_of_that_content_whoever_sent_it()
    {
        var keys = new Dictionary<string, string?>(Keys) { ["Asgilook:UploadKeys:1"] = Secrets.OtherUploadKey };
        await using var app = await TestApp.StartAsync(settings: keys);
        var photo = TestImages.RandomEllipses(320, 240);
        var first = await app.Client.PostImageAsync(photo, Secrets.UploadKey);
        var copy = await app.Client.PostImageAsync(photo, Secrets.OtherUploadKey);
        var other = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);

        using (var blocked = await app.Client.DeleteAsync($"{copy.GetProperty("image").GetString()}?block=true", Secrets.AdminKey))
        {
            Assert.Equal(HttpStatusCode.NoContent, blocked.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await app.Client.GetAsync(first.GetProperty("image").GetString())).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Client.GetAsync(copy.GetProperty("image").GetString())).StatusCode);
        var listed = System.Text.Json.JsonDocument.Parse(await app.Client.GetStringAsync("/images")).RootElement;
        Assert.Equal(other.GetProperty("id").GetString(), Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        Assert.Single(app.StoredFiles());
        Assert.Contains(app.Logs.Warnings(nameof(Storage.ImageStore)), line => line.Contains("with 1 other upload(s) of it", StringComparison.Ordinal));
    }

    private static async Task AssertRefusedAsync(TestApp app, byte[] photo)
    {
        var listed = await app.Client.GetStringAsync("/images");
        var stored = app.StoredFiles().Length;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(photo) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Secrets.UploadKey);
        using var refused = await app.Client.SendAsync(request);

        var problem = await refused.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("urn:asgilook:problem:blocked-content", problem.GetProperty("type").GetString());
        Assert.Equal(listed, await app.Client.GetStringAsync("/images"));
        Assert.Equal(stored, app.StoredFiles().Length);
    }

    [Fact]
    public async Task Only_an_admin_key_blocks_and_a_refused_block_deletes_nothing()
    {
        await using var app = await TestApp.StartAsync(settings: Keys);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        var uri = posted.GetProperty("image").GetString()!;

        foreach (var credential in new[] { posted.GetProperty("delete_token").GetString()!, Secrets.UploadKey })
        {
            using var refused = await app.Client.DeleteAsync($"{uri}?block=true", credential);
            var problem = await refused.AssertProblemAsync(HttpStatusCode.Forbidden);
            Assert.Equal("Blocking needs an admin key", problem.GetProperty("title").GetString());
        }

        using (var anonymous = await app.Client.DeleteAsync($"{uri}?block=true", credential: null))
        {
            await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync(uri)).StatusCode);

        // Deleted without blocking by its own token: the same content may come back.
        using (var deleted = await app.Client.DeleteAsync($"{uri}?block=false", posted.GetProperty("delete_token").GetString()))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("true; DROP TABLE images")]
    public async Task A_block_value_that_is_neither_true_nor_false_is_400_and_deletes_nothing(string value)
    {
        await using var app = await TestApp.StartAsync(settings: Keys);
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(160, 120), Secrets.UploadKey);
        var uri = posted.GetProperty("image").GetString()!;

        using var refused = await app.Client.DeleteAsync($"{uri}?block={Uri.EscapeDataString(value)}", Secrets.AdminKey);

        await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync(uri)).StatusCode);
    }

    [Fact]
    public async Task Blocking_an_unknown_image_is_404_and_blocks_nothing()
    {
        await using var app = await TestApp.StartAsync(settings: Keys);

        using var unknown = await app.Client.DeleteAsync($"/images/{Guid.NewGuid()}.jpeg?block=true", Secrets.AdminKey);

        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
    }
}
