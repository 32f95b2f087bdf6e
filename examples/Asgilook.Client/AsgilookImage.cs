namespace Asgilook.Client;

/// <summary>An image as the API describes it.</summary>
/// <param name="DeleteToken">Only in the answer to its upload: the credential that deletes it.</param>
/// <param name="Sources">Its thumbnails by media type (image/avif, image/webp, image/jpeg), each size largest first.</param>
/// <param name="Animated">True for an animated GIF or WebP: its image/webp thumbnails move (the JPEG is its first frame).</param>
/// <param name="Frames">An animated image's number of frames.</param>
public sealed record AsgilookImage(
    Guid Id, string Image, string Modified, int[] Size, string[] Thumbnails,
    [property: System.Text.Json.Serialization.JsonPropertyName("delete_token")] string? DeleteToken = null,
    IReadOnlyDictionary<string, AsgilookThumbnailSource[]>? Sources = null,
    bool Animated = false, int? Frames = null)
{
    public int Width => Size[0];

    public int Height => Size[1];

    /// <summary>The thumbnail sizes the image offers, largest first.</summary>
    public IEnumerable<(int Width, int Height, string Uri)> ThumbnailSizes =>
        Thumbnails.Select(uri =>
        {
            var size = Path.GetFileNameWithoutExtension(uri).Split('x');
            return (int.Parse(size[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(size[1], System.Globalization.CultureInfo.InvariantCulture), uri);
        });
}

/// <summary>What an upload key stores (images, and bytes of stored JPEGs), and its limits: null where there is none.</summary>
public sealed record AsgilookUsage(long Images, long Bytes, AsgilookQuota Limits);

/// <summary>An upload key's quota: at most this many images and bytes; null where there is no limit.</summary>
public sealed record AsgilookQuota(long? Images, long? Bytes);

/// <summary>One size of a thumbnail in one format.</summary>
public sealed record AsgilookThumbnailSource(string Uri, int Width, int Height);

/// <summary>An RFC 9457 problem the API answered with.</summary>
/// <param name="type">The problem's type, when it has one of its own (e.g. <see cref="BlockedContent"/>).</param>
public sealed class AsgilookProblemException(int status, string? title, string? detail, string? type = null)
    : Exception($"{status} {title}: {detail}")
{
    /// <summary>The type of an upload whose content an admin blocked.</summary>
    public const string BlockedContent = "urn:asgilook:problem:blocked-content";

    /// <summary>The type of an upload that would take its key past a quota (status 507); <see cref="AsgilookClient.GetUsageAsync"/> tells the key's figures.</summary>
    public const string QuotaExceeded = "urn:asgilook:problem:quota-exceeded";

    /// <summary>The type of an upload the service's moderation hook refused; <see cref="Detail"/> is the hook's reason.</summary>
    public const string ModerationRefused = "urn:asgilook:problem:moderation-refused";

    public string? Type { get; } = type;

    public int Status { get; } = status;

    public string? Title { get; } = title;

    public string? Detail { get; } = detail;
}
