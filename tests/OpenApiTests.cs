using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>The OpenAPI document describes every route, its status codes and the image's schema.</summary>
public sealed class OpenApiTests
{
    [Theory]
    [InlineData("/images", "get", "200 400 503")]
    [InlineData("/images", "head", "200 400 503")]
    [InlineData("/images", "post", "201 400 401 408 413 415 422 429 503 507")]
    [InlineData("/images/{id}.jpeg", "get", "200 206 304 404 416 503")]
    [InlineData("/images/{id}.jpeg", "delete", "204 400 401 403 404 503")]
    [InlineData("/thumbnails/{id}/{width}x{height}.{format}", "get", "200 304 404 429 503")]
    [InlineData("/usage", "get", "200 401 503")]
    [InlineData("/events", "get", "200 429 503")]
    [InlineData("/health", "get", "200")]
    [InlineData("/health/ready", "get", "200 503")]
    [InlineData("/metrics", "get", "200")]
    public async Task EveryRouteAndStatusIsDescribed(string path, string method, string statuses)
    {
        await using var app = await TestApp.StartAsync();

        var document = await app.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var operation = document.GetProperty("paths").GetProperty(path).GetProperty(method);
        Assert.Equal(statuses.Split(' '), operation.GetProperty("responses").EnumerateObject().Select(response => response.Name).Order());
        Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()));
    }

    [Fact]
    public async Task ImageSchemaAndUploadBodyAreDescribed()
    {
        await using var app = await TestApp.StartAsync();

        var document = await app.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var image = document.GetProperty("components").GetProperty("schemas").GetProperty("ImageResource");
        Assert.Equal(["animated", "frames", "id", "image", "modified", "placeholder", "size", "sources", "thumbnails"], image.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        var source = document.GetProperty("components").GetProperty("schemas").GetProperty("ThumbnailSource");
        Assert.Equal(["height", "uri", "width"], source.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        var usage = document.GetProperty("components").GetProperty("schemas").GetProperty("KeyUsageResource");
        Assert.Equal(["bytes", "images", "limits"], usage.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        var thumbnail = document.GetProperty("paths").GetProperty("/thumbnails/{id}/{width}x{height}.{format}").GetProperty("get")
            .GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.Equal(["image/avif", "image/jpeg", "image/webp"], thumbnail.EnumerateObject().Select(p => p.Name).Order());
        var upload = document.GetProperty("paths").GetProperty("/images").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(upload.TryGetProperty("image/jpeg", out _));
        Assert.True(upload.TryGetProperty("image/png", out _));
        Assert.Equal("Asgilook", document.GetProperty("info").GetProperty("title").GetString());
    }

    [Fact]
    public async Task BearerCredentialsAndTheDeleteTokenAreDescribed()
    {
        await using var app = await TestApp.StartAsync();

        var document = await app.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        var delete = document.GetProperty("paths").GetProperty("/images/{id}.jpeg").GetProperty("delete");
        Assert.True(Assert.Single(delete.GetProperty("security").EnumerateArray()).TryGetProperty("bearer", out _));
        var block = Assert.Single(delete.GetProperty("parameters").EnumerateArray(), parameter => parameter.GetProperty("name").GetString() == "block");
        Assert.Equal("query", block.GetProperty("in").GetString());
        Assert.Contains("admin key only", block.GetProperty("description").GetString());
        var upload = document.GetProperty("paths").GetProperty("/images").GetProperty("post");
        Assert.Equal(2, upload.GetProperty("security").GetArrayLength()); // a key, or none where upload keys are not configured
        var uploaded = document.GetProperty("components").GetProperty("schemas").GetProperty("UploadedImage");
        Assert.True(uploaded.GetProperty("properties").TryGetProperty("delete_token", out _));
    }

    [Fact]
    public async Task DocumentIsNeverCached()
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync("/openapi/v1.json");

        Assert.Null(response.CacheOutcome());
    }
}
