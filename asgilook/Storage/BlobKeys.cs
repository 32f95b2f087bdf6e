namespace Asgilook.Storage;

/// <summary>
/// The names of the stored bytes, the same in the folder (as paths under it) and in a bucket (as object keys): an
/// original is <c>&lt;uuid&gt;.jpeg</c>, its renders <c>&lt;uuid&gt;.renders/&lt;name&gt;</c>, where the uuid is that of
/// the first upload of the content (<see cref="StoredImage.Blob"/>: identical uploads share the bytes). Named here only.
/// </summary>
public static class BlobKeys
{
    public const string OriginalExtension = ".jpeg";
    public const string RendersExtension = ".renders";

    /// <summary>The store's identity, written at its first start and recorded in the catalog.</summary>
    public const string Identity = ".asgilook-storage";

    /// <summary>An animated upload's frames, kept among its renders (<see cref="Imaging.Animation"/>): what its animated thumbnails are rendered from.</summary>
    public const string Animation = "animation.webp";

    public static string Original(Guid id) => $"{id}{OriginalExtension}";

    public static string Renders(Guid id) => $"{id}{RendersExtension}";

    public static string Render(Guid id, string name) => $"{Renders(id)}/{name}";

    /// <summary>The image an original's or a render's key belongs to; null for any other key.</summary>
    public static Guid? ImageOf(string key)
    {
        var first = key.Split('/', 2)[0];
        var isOriginal = !key.Contains('/') && first.EndsWith(OriginalExtension, StringComparison.Ordinal);
        var isRender = key.Contains('/') && first.EndsWith(RendersExtension, StringComparison.Ordinal);
        return (isOriginal || isRender) && Guid.TryParse(Path.GetFileNameWithoutExtension(first), out var id) ? id : null;
    }

    /// <summary>Whether the key is an original's (not a render's).</summary>
    public static bool IsOriginal(string key) => !key.Contains('/') && key.EndsWith(OriginalExtension, StringComparison.Ordinal);
}
