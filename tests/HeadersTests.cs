using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Asgilook.Tests;

/// <summary>What every answer says to the browser, and how much of a client's own input a problem repeats.</summary>
public sealed class HeadersTests
{
    [Fact]
    public async Task EveryAnswerForbidsSniffingAndSendsNoReferrer()
    {
        await using var app = await TestApp.StartAsync(endpoints: app => app.MapGet("/fails", string () => throw new InvalidOperationException("boom")));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;

        foreach (var (method, uri) in new[]
        {
            ("GET", "/images"), ("GET", thumbnail), ("GET", thumbnail), ("GET", posted.GetProperty("image").GetString()!), ("HEAD", "/images"),
            ("GET", "/nothing-here"), ("POST", "/images"), ("DELETE", "/images"), ("GET", "/fails"), ("GET", "/"), ("GET", "/gallery.js"),
            ("GET", "/metrics"), ("GET", "/health"),
        })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), uri) { Content = method == "POST" ? new ByteArrayContent("garbage"u8.ToArray()) : null };
            using var response = await app.Client.SendAsync(request);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        }
    }

    [Fact]
    public async Task AProblemRepeatsAtMostALittleOfWhatTheClientSent()
    {
        await using var app = await TestApp.StartAsync();
        var flood = new string('<', 5000) + "script>";

        using var query = await app.Client.GetAsync($"/images?limit={Uri.EscapeDataString(flood)}");
        using var path = await app.Client.GetAsync("/" + new string('a', 4000));

        foreach (var response in new[] { query, path })
        {
            var detail = (await response.AssertProblemAsync(response.StatusCode)).GetProperty("detail").GetString()!;
            Assert.True(detail.Length < 250, $"a detail of {detail.Length} characters repeats the request");
            Assert.Contains("characters)", detail);
            Assert.Equal("application/problem+json", response.ContentType()); // never HTML
        }
    }
}
