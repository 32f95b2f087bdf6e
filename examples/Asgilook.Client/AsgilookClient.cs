using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Asgilook.Client;

/// <summary>
/// Asgilook in a few lines: upload, list (all, or page by page), fetch, thumbnails, delete.
/// Pass an <see cref="HttpClient"/> whose BaseAddress is the service, e.g. http://localhost:8000.
/// </summary>
public sealed class AsgilookClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<AsgilookImage> UploadAsync(byte[] image, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsync("/images", new ByteArrayContent(image), cancellationToken);
        return await ReadAsync<AsgilookImage>(response, cancellationToken);
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
    public async Task<byte[]> GetThumbnailAsync(AsgilookImage image, int width, CancellationToken cancellationToken = default)
    {
        var sizes = image.ThumbnailSizes.ToArray();
        if (sizes.Length == 0)
        {
            throw new InvalidOperationException($"Image {image.Id} is too small to offer thumbnails.");
        }

        var chosen = sizes.Where(size => size.Width >= width).OrderBy(size => size.Width).Select(size => size.Uri).FirstOrDefault() ?? sizes[0].Uri;
        return await GetBytesOrNullAsync(chosen, cancellationToken)
            ?? throw new AsgilookProblemException(404, "Not Found", $"{chosen} is gone.");
    }

    /// <summary>Deletes the image; false when there was none.</summary>
    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        using var response = await http.DeleteAsync($"/images/{id}.jpeg", cancellationToken);
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
            problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("detail", out var detail) ? detail.GetString() : null);
    }

    private static string NextLink(string link) => link[(link.IndexOf('<', StringComparison.Ordinal) + 1)..link.IndexOf('>', StringComparison.Ordinal)];
}
