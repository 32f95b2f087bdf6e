using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Asgilook.Imaging;
using MessagePack;

namespace Asgilook.Caching;

/// <summary>
/// A cached response as the tutorial stores it: the MessagePack array <c>[content_type, body]</c>,
/// a str and a bin (msgpack's <c>use_bin_type=True</c>). When the response carried validators
/// (ETag, Last-Modified, Cache-Control) or a page's Link, a third item holds them as a map, so that a hit
/// can answer conditional requests with 304 and name the next page like the resource itself would.
/// </summary>
public sealed record CachedResponse(
    string ContentType, byte[] Body, string? ETag = null, DateTimeOffset? LastModified = null, string? CacheControl = null, string? Link = null)
{
    private const string ETagKey = "ETag";
    private const string LastModifiedKey = "Last-Modified";
    private const string CacheControlKey = "Cache-Control";
    private const string LinkKey = "Link";

    /// <summary>
    /// Only what Asgilook itself caches is ever served from the cache: images and JSON. An entry claiming
    /// anything else (text/html, say) was not written by Asgilook, and is treated as unreadable.
    /// </summary>
    public static bool IsServable(string contentType) =>
        contentType.StartsWith("image/jpeg", StringComparison.OrdinalIgnoreCase)
        || contentType.StartsWith("image/webp", StringComparison.OrdinalIgnoreCase)
        || contentType.StartsWith("image/avif", StringComparison.OrdinalIgnoreCase)
        || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the body is one whole answer of its type, judged before it is cached: JSON parses to its end as
    /// one value, and an image is exactly one whole file of its format (<see cref="FileStructure.IsExactlyOneFile"/>).
    /// A torn body, or two answers run together, fails.
    /// </summary>
    public bool IsWellFormed()
    {
        if (ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return IsOneJsonValue(Body);
        }

        foreach (var format in ThumbnailFormats.All)
        {
            if (ContentType.StartsWith(format.MediaType(), StringComparison.OrdinalIgnoreCase))
            {
                return FileStructure.IsExactlyOneFile(format.Loader(), Body);
            }
        }

        return FileStructure.IsExactlyOneFile(ImageFormats.ImageLoader.None, Body);
    }

    private static bool IsOneJsonValue(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            while (reader.Read())
            {
            }

            return reader.BytesConsumed == body.Length && reader.TokenType is not JsonTokenType.None;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public byte[] Serialize()
    {
        var validators = new List<(string Name, string Value)>(3);
        if (ETag is not null)
        {
            validators.Add((ETagKey, ETag));
        }

        if (LastModified is { } modified)
        {
            validators.Add((LastModifiedKey, modified.ToString("R")));
        }

        if (CacheControl is not null)
        {
            validators.Add((CacheControlKey, CacheControl));
        }

        if (Link is not null)
        {
            validators.Add((LinkKey, Link));
        }

        var buffer = new ArrayBufferWriter<byte>(Body.Length + ContentType.Length + 128);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(validators.Count == 0 ? 2 : 3);
        writer.Write(ContentType);
        writer.Write(Body);
        if (validators.Count > 0)
        {
            writer.WriteMapHeader(validators.Count);
            foreach (var (name, value) in validators)
            {
                writer.Write(name);
                writer.Write(value);
            }
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="MessagePackSerializationException">The bytes are not a cached response.</exception>
    public static CachedResponse Deserialize(byte[] data)
    {
        var reader = new MessagePackReader(data);
        var items = reader.ReadArrayHeader();
        if (items is not (2 or 3))
        {
            throw new MessagePackSerializationException("A cached response is an array of two or three items.");
        }

        var contentType = reader.ReadString()
            ?? throw new MessagePackSerializationException("A cached response needs a content type.");
        var body = reader.ReadBytes()?.ToArray() ?? [];
        var response = new CachedResponse(contentType, body);
        if (items == 3)
        {
            for (var pairs = reader.ReadMapHeader(); pairs > 0; pairs--)
            {
                var name = reader.ReadString();
                var value = reader.ReadString();
                response = name switch
                {
                    ETagKey => response with { ETag = value },
                    LastModifiedKey when DateTimeOffset.TryParseExact(value, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var modified)
                        => response with { LastModified = modified },
                    CacheControlKey => response with { CacheControl = value },
                    LinkKey => response with { Link = value },
                    _ => response,
                };
            }
        }

        return response;
    }
}
