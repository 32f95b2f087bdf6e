using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

internal static class HttpAssertions
{
    public const string CacheHeader = "X-ASGILook-Cache";

    public static string? CacheOutcome(this HttpResponseMessage response) =>
        response.Headers.TryGetValues(CacheHeader, out var values) ? values.Single() : null;

    public static string? ContentType(this HttpResponseMessage response) => response.Content.Headers.ContentType?.MediaType;

    /// <summary>Asserts an RFC 9457 problem answer with the status and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.ContentType());
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        return problem;
    }

    public static async Task<JsonElement> PostImageAsync(this HttpClient client, byte[] image)
    {
        using var response = await client.PostAsync("/images", new ByteArrayContent(image));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
