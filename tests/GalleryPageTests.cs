using System.Net;

namespace Asgilook.Tests;

/// <summary><c>/</c> serves the gallery page and its script, under a policy that runs nothing inline.</summary>
public sealed class GalleryPageTests
{
    [Fact]
    public async Task GalleryPageIsServedAtTheRoot()
    {
        await using var app = await TestApp.StartAsync();

        using var page = await app.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.ContentType());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/gallery.js\"></script>", html);
        Assert.DoesNotContain("<script>", html); // nothing inline: the policy allows the page's own files only
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        var script = await app.Client.GetStringAsync("/gallery.js");
        Assert.Contains("new EventSource('/events')", script);
        Assert.Contains("srcset", script);
    }
}
