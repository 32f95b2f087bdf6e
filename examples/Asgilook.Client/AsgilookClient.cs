using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Asgilook.Client;

/// <summary>
/// Asgilook in a few lines: upload, list (all, or page by page), fetch, thumbnails, delete.
/// Pass an <see cref="HttpClient"/> whose BaseAddress is the service, e.g. http://localhost:8000.
/// </summary>
/// <param name="uploadKey">The upload key to upload with, where the service asks for one (it may then delete what it uploaded).</param>
/// <param name="waitWhenRateLimited">
/// When an upload is refused 429, wait the Retry-After it names and try again, up to this long in all;
/// zero (the default) answers the 429 as an <see cref="AsgilookProblemException"/> at once.
/// </param>
public sealed class AsgilookClient(HttpClient http, string? uploadKey = null, TimeSpan waitWhenRateLimited = default)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Told of each wait for a rate limit (how long), e.g. to show it.</summary>
    public event Action<TimeSpan>? RateLimited;

    /// <summary>Uploads the image; the answer's <see cref="AsgilookImage.DeleteToken"/> is the one time its delete token is shown.</summary>
    public async Task<AsgilookImage> UploadAsync(byte[] image, CancellationToken cancellationToken = default)
    {
        var waited = TimeSpan.Zero;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(image) };
            if (uploadKey is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", uploadKey);
            }

            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.TooManyRequests
                && response.Headers.RetryAfter?.Delta is { } delay
                && waited + delay <= waitWhenRateLimited)
            {
                RateLimited?.Invoke(delay);
                await Task.Delay(delay, cancellationToken);
                waited += delay;
                continue;
            }

            return await ReadAsync<AsgilookImage>(response, cancellationToken);
        }
    }

    /// <summary>What this client's upload key stores, and its quotas (the client must have been given an upload key).</summary>
    public async Task<AsgilookUsage> GetUsageAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/usage");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", uploadKey ?? throw new InvalidOperationException("Usage is told for an upload key: give the client one."));
        using var response = await http.SendAsync(request, cancellationToken);
        return await ReadAsync<AsgilookUsage>(response, cancellationToken);
    }

    /// <summary>Every image, oldest upload first, in one answer.</summary>
    public async Task<IReadOnlyList<AsgilookImage>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync("/images", cancellationToken);
        return await ReadAsync<AsgilookImage[]>(response, cancellationToken);
    }

    /// <summary>Every image, oldest upload first, fetched a page at a time by following the next links.</summary>
    public async IAsyncEnumerable<AsgilookImage> ListPagedAsync(int pageSize = 100, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? next = $"/images?limit={pageSize}";
        while (next is not null)
        {
            using var response = await http.GetAsync(next, cancellationToken);
            foreach (var image in await ReadAsync<AsgilookImage[]>(response, cancellationToken))
            {
                yield return image;
            }

            next = response.Headers.TryGetValues("Link", out var links) ? NextLink(links.First()) : null;
        }
    }

    /// <summary>The stored JPEG, or null when there is no such image.</summary>
    public Task<byte[]?> GetImageAsync(Guid id, CancellationToken cancellationToken = default) =>
        GetBytesOrNullAsync($"/images/{id}.jpeg", cancellationToken);

    /// <summary>The narrowest listed thumbnail at least <paramref name="width"/> pixels wide (the largest listed when all are narrower).</summary>
    /// <param name="mediaType">image/jpeg (the default), image/webp or image/avif, as the image's sources offer them.</param>
    public async Task<byte[]> GetThumbnailAsync(AsgilookImage image, int width, CancellationToken cancellationToken = default, string mediaType = "image/jpeg")
    {
        var sizes = mediaType == "image/jpeg"
            ? image.ThumbnailSizes.ToArray()
            : image.Sources?.GetValueOrDefault(mediaType)?.Select(source => (source.Width, source.Height, source.Uri)).ToArray()
                ?? throw new InvalidOperationException($"Image {image.Id} offers no {mediaType} thumbnails.");
        if (sizes.Length == 0)
        {
            throw new InvalidOperationException($"Image {image.Id} is too small to offer thumbnails.");
        }

        var chosen = sizes.Where(size => size.Width >= width).OrderBy(size => size.Width).Select(size => size.Uri).FirstOrDefault() ?? sizes[0].Uri;
        return await GetBytesOrNullAsync(chosen, cancellationToken)
            ?? throw new AsgilookProblemException(404, "Not Found", $"{chosen} is gone.");
    }

    /// <summary>Deletes the image; false when there was none.</summary>
    /// <param name="credential">Its delete token, the upload key it was uploaded with, or an admin key.</param>
    /// <param name="block">Also refuse every later upload of the same content (an admin key only).</param>
    public async Task<bool> DeleteAsync(Guid id, string credential, bool block = false, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, block ? $"/images/{id}.jpeg?block=true" : $"/images/{id}.jpeg");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await EnsureSuccessAsync(response, cancellationToken);
        return true;
    }

    private async Task<byte[]?> GetBytesOrNullAsync(string uri, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(uri, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new InvalidOperationException("The service answered an empty body.");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var problem = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            ? await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken)
            : default;
        throw new AsgilookProblemException(
            (int)response.StatusCode,
            problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("title", out var title) ? title.GetString() : response.ReasonPhrase,
            problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("detail", out var detail) ? detail.GetString() : null,
            problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("type", out var type) ? type.GetString() : null);
    }

    private static string NextLink(string link) => link[(link.IndexOf('<', StringComparison.Ordinal) + 1)..link.IndexOf('>', StringComparison.Ordinal)];
}
