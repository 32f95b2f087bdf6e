using System.Net;

namespace Asgilook.Tests;

/// <summary>The tutorial's route converters: a uuid id and integer sizes, anything else is not found.</summary>
public sealed class RoutingTests
{
    [Theory]
    [InlineData("/images/not-a-uuid.jpeg")]
    [InlineData("/images/36562622-48e5-4a61-be67-e426b11821ed.png")]
    [InlineData("/images/36562622-48e5-4a61-be67-e426b11821ed")]
    [InlineData("/thumbnails/not-a-uuid/160x90.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/widexhigh.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/160x90.png")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/160.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/99999999999x90.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/-160x-90.jpeg")]
    [InlineData("/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/0x0.jpeg")]
    [InlineData("/images/..%2f..%2fetc%2fpasswd.jpeg")]
    [InlineData("/images/..%2fasgilook.db")]
    [InlineData("/images/%2e%2e/asgilook.db")]
    [InlineData("/asgilook.db")]
    [InlineData("/nothing-here")]
    public async Task AnythingElseIsNotFound(string uri)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync(uri);

        var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }

    [Theory]
    [InlineData("DELETE", "/images", "GET, HEAD, POST")]
    [InlineData("PUT", "/images/36562622-48e5-4a61-be67-e426b11821ed.jpeg", "DELETE, GET, HEAD")]
    [InlineData("POST", "/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/160x90.jpeg", "GET, HEAD")]
    public async Task UnsupportedMethodIsNotAllowed(string method, string uri, string allowed)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), uri));

        var problem = await response.AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Contains(method, problem.GetProperty("detail").GetString());
        Assert.Equal(allowed.Split(", "), response.Content.Headers.Allow.Order());
    }
}
