using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>
/// <c>GET /images?order=newest</c>: the newest upload first, paged by the same cursor and Link header, cached per
/// order; the tutorial's default order is unchanged, and any other order is a 400 problem.
/// </summary>
public sealed class ListOrderTests
{
    [Fact]
    public async Task NewestFirstPagesFollowTheLinkAndTheDefaultStaysInUploadOrder()
    {
        await using var app = await TestApp.StartAsync();
        var uploaded = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            uploaded.Add(Guid.Parse((await app.Client.PostImageAsync(TestImages.RandomEllipses(64 + i, 64))).GetProperty("id").GetString()!));
        }

        var seen = new List<Guid>();
        var next = "/images?order=newest&limit=2";
        while (next is not null)
        {
            using var page = await app.Client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            seen.AddRange((await page.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(image => Guid.Parse(image.GetProperty("id").GetString()!)));
            next = page.Headers.TryGetValues("Link", out var links) ? links.Single().Split('<', '>')[1] : null;
            Assert.True(next is null || next.EndsWith("&order=newest", StringComparison.Ordinal), next);
        }

        Assert.Equal(Enumerable.Reverse(uploaded), seen);
        var tutorial = (await app.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().Select(image => Guid.Parse(image.GetProperty("id").GetString()!));
        Assert.Equal(uploaded, tutorial);
        using var oldest = await app.Client.GetAsync("/images?order=oldest&limit=1");
        Assert.Equal(uploaded[0].ToString(), (await oldest.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task EachOrderIsItsOwnCachedPageAndAnUploadRefreshesBoth()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.PostImageAsync(TestImages.RandomEllipses(64, 64));
        await app.Client.PostImageAsync(TestImages.RandomEllipses(65, 64));
        foreach (var uri in new[] { "/images?order=newest&limit=1", "/images?order=oldest&limit=1" })
        {
            (await app.Client.GetAsync(uri)).Dispose();
        }

        using var newest = await app.Client.GetAsync("/images?order=newest&limit=1");
        using var oldest = await app.Client.GetAsync("/images?limit=1&order=oldest");
        Assert.Equal(("Hit", "Hit"), (newest.CacheOutcome(), oldest.CacheOutcome()));
        Assert.NotEqual(await newest.Content.ReadAsStringAsync(), await oldest.Content.ReadAsStringAsync());

        await app.Client.PostImageAsync(TestImages.RandomEllipses(66, 64));
        var first = await app.Client.GetFromJsonAsync<JsonElement>("/images?order=newest&limit=1");
        Assert.Equal(TestApp.PredictableIds[2].ToString(), first[0].GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("newer")]
    [InlineData("NEWEST")]
    [InlineData("newest&order=oldest")]
    [InlineData("newest%00")]
    [InlineData("")]
    public async Task AnyOtherOrderIsABadListQuery(string order)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync($"/images?order={order}");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("order must be oldest or newest", problem.GetProperty("detail").GetString());
    }
}
