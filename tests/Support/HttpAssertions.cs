using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

internal static class HttpAssertions
{
    public const string CacheHeader = "X-ASGILook-Cache";

    public static string? CacheOutcome(this HttpResponseMessage response) =>
        response.Headers.TryGetValues(CacheHeader, out var values) ? values.Single() : null;

    public static string? ContentType(this HttpResponseMessage response) => response.Content.Headers.ContentType?.MediaType;

    /// <summary>The sum of a counter in the app's <c>/metrics</c> over the series whose labels contain <paramref name="labels"/>; 0 when absent.</summary>
    public static async Task<double> MetricAsync(this HttpClient client, string name, string labels = "") =>
        (await client.GetStringAsync("/metrics")).Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && line.Contains(labels, StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

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

    /// <summary>Uploads, asserts 201, and returns the answer (its delete token is remembered for the suite's leak check).</summary>
    public static async Task<JsonElement> PostImageAsync(this HttpClient client, byte[] image, string? credential = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(image) };
        if (credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var posted = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (posted.TryGetProperty("delete_token", out var token))
        {
            Secrets.Remember(token.GetString()!);
        }

        return posted;
    }

    /// <summary>DELETE with a bearer credential (none when null).</summary>
    public static async Task<HttpResponseMessage> DeleteAsync(this HttpClient client, string uri, string? credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, uri);
        if (credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Deletes an uploaded image with the delete token its upload answered.</summary>
    public static Task<HttpResponseMessage> DeleteImageAsync(this HttpClient client, JsonElement posted) =>
        client.DeleteAsync(posted.GetProperty("image").GetString()!, posted.GetProperty("delete_token").GetString());
}
