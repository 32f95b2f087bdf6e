using System.Net;
using System.Text.Json;
using Asgilook;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using NetVips;

namespace tests;

public sealed class AppTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private static readonly Guid Id = Guid.Parse("6b5c3b9e-1f0a-4c8e-9a3e-2f6a0e7d9c41");
    private readonly string _storage = Directory.CreateTempSubdirectory("asgilook-tests-").FullName;
    private WebApplication? _app;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await redis.FlushAsync();
        var config = new Config { StoragePath = _storage, RedisHost = redis.Host, NewId = () => Id };
        _app = App.Create(config, [], builder => builder.WebHost.UseTestServer());
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        await _app!.StopAsync(); // DisposeAsync alone does not stop the app: its Redis connection would stay open
        await _app.DisposeAsync();
        Directory.Delete(_storage, recursive: true);
    }

    private static byte[] Png(int width, int height)
    {
        using var image = Image.Black(width, height, bands: 3) + new[] { 40, 120, 200 };
        return image.PngsaveBuffer();
    }

    private async Task<HttpResponseMessage> UploadAsync(byte[] body) =>
        await _client.PostAsync("/images", new ByteArrayContent(body));

    [Fact]
    public async Task TheListStartsEmpty() =>
        Assert.Equal("[]", await _client.GetStringAsync("/images"));

    [Fact]
    public async Task AnUploadIsStoredAsJpeg()
    {
        using var posted = await UploadAsync(Png(640, 360));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Equal($"/images/{Id}.jpeg", posted.Headers.Location?.ToString());

        var jpeg = await _client.GetByteArrayAsync($"/images/{Id}.jpeg");
        using var stored = Image.NewFromBuffer(jpeg);
        Assert.Equal(("jpegload_buffer", 640, 360), ((string)stored.Get("vips-loader"), stored.Width, stored.Height));
    }

    [Fact]
    public async Task OnlyTheListedThumbnailsAreRendered()
    {
        using (await UploadAsync(Png(640, 360))) { }
        using var list = JsonDocument.Parse(await _client.GetStringAsync("/images"));
        var thumbnails = list.RootElement[0].GetProperty("thumbnails").EnumerateArray().Select(uri => uri.GetString()!).ToArray();
        Assert.Equal([$"/thumbnails/{Id}/320x180.jpeg", $"/thumbnails/{Id}/160x90.jpeg"], thumbnails);

        using var thumbnail = Image.NewFromBuffer(await _client.GetByteArrayAsync(thumbnails[0]));
        Assert.Equal((320, 180), (thumbnail.Width, thumbnail.Height));
        using var unlisted = await _client.GetAsync($"/thumbnails/{Id}/321x180.jpeg");
        Assert.Equal(HttpStatusCode.NotFound, unlisted.StatusCode);
    }

    [Fact]
    public async Task TheListIsCachedUntilAnUpload()
    {
        string Outcome(HttpResponseMessage response) => response.Headers.GetValues("X-ASGILook-Cache").Single();
        using (var first = await _client.GetAsync("/images")) Assert.Equal("Miss", Outcome(first));
        using (var second = await _client.GetAsync("/images")) Assert.Equal("Hit", Outcome(second));
        using (await UploadAsync(Png(640, 360))) { }
        using var third = await _client.GetAsync("/images");
        Assert.Equal("Miss", Outcome(third));
        Assert.Contains(Id.ToString(), await third.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("not an image")]
    [InlineData("GIF89a")]
    [InlineData("")]
    public async Task GarbageIsRefusedAndNothingIsStored(string body)
    {
        using var refused = await UploadAsync(System.Text.Encoding.UTF8.GetBytes(body));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[]", await _client.GetStringAsync("/images"));
        Assert.Empty(Directory.GetFiles(_storage));
    }
}
