using System.Text;
using System.Text.Json;

namespace Asgilook.Moderation;

/// <summary>
/// Why the hook refused an upload, as the uploader is shown it: its <c>text/plain</c> answer or its problem+json's
/// <c>detail</c>, read from at most <see cref="MaxBodyBytes"/> of the body, made one plain line of at most
/// <see cref="MaxLength"/> characters (no control or bidi-formatting characters). It only ever travels inside JSON.
/// </summary>
internal static class HookReason
{
    public const int MaxLength = 200;
    public const int MaxBodyBytes = 8 * 1024;

    /// <summary>The reason, or null when the answer gives none this service reads.</summary>
    public static async Task<string?> ReadAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var type = content.Headers.ContentType?.MediaType;
        if (type is not ("text/plain" or "application/problem+json" or "application/json"))
        {
            return null;
        }

        var body = await ReadAtMostAsync(content, cancellationToken);
        return Clean(type == "text/plain" ? Encoding.UTF8.GetString(body) : DetailOf(body));
    }

    /// <summary>One line, no control or formatting characters, at most <see cref="MaxLength"/> characters; null when nothing is left.</summary>
    public static string? Clean(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var line = new StringBuilder(Math.Min(text.Length, MaxLength + 1));
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format)
            {
                space = line.Length > 0;
                continue;
            }

            if (space)
            {
                line.Append(' ');
                space = false;
            }

            line.Append(c);
            if (line.Length > MaxLength)
            {
                break;
            }
        }

        if (line.Length <= MaxLength)
        {
            return line.Length == 0 ? null : line.ToString();
        }

        var cut = MaxLength - 1;
        if (char.IsHighSurrogate(line[cut - 1]))
        {
            cut--;
        }

        return line.ToString(0, cut) + "…";
    }

    private static string? DetailOf(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
                ? detail.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null; // longer than what is read of it, or not JSON at all
        }
    }

    private static async Task<byte[]> ReadAtMostAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxBodyBytes];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return buffer[..length];
    }
}
