namespace Asgilook.Storage;

/// <summary>
/// The names of the stored bytes, the same in the folder (as paths under it) and in a bucket (as object keys): an
/// original is <c>&lt;uuid&gt;.jpeg</c>, its renders <c>&lt;uuid&gt;.renders/&lt;name&gt;</c>. Named here only, so that
/// another naming (by content hash, to store identical uploads once) is one change.
/// </summary>
public static class BlobKeys
{
    public const string OriginalExtension = ".jpeg";
    public const string RendersExtension = ".renders";

    /// <summary>The store's identity, written at its first start and recorded in the catalog.</summary>
    public const string Identity = ".asgilook-storage";

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
