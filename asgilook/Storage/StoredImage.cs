namespace Asgilook.Storage;

/// <summary>What the store knows of one uploaded image.</summary>
/// <param name="ByteLength">The stored JPEG's size in bytes.</param>
/// <param name="Sha256">The stored JPEG's SHA-256, lowercase hex.</param>
/// <param name="DeleteTokenHash">The SHA-256 of its delete token; null for images stored before tokens existed.</param>
/// <param name="OwnerKeyId">The SHA-256 of the upload key it was uploaded with, if any: that key may delete it too.</param>
/// <param name="Placeholder">What a page paints before the thumbnail arrives; null until made (images stored before placeholders existed).</param>
/// <param name="BlobId">Whose stored bytes it uses, when they are another image's: an upload of content stored already
/// (<see cref="Sha256"/>) keeps its own id, token and owner and shares that image's original and renders. Null: its own.</param>
/// <param name="Frames">An animated image's frames (its animation is kept beside its renders); null for a still.</param>
public sealed record StoredImage(
    Guid Id, int Width, int Height, DateTimeOffset Modified, long ByteLength, string Sha256,
    string? DeleteTokenHash = null, string? OwnerKeyId = null, Imaging.Placeholder? Placeholder = null, Guid? BlobId = null, int? Frames = null)
{
    /// <summary>The name of its bytes in the blob store (the original and its renders): its own id, or the image whose bytes it shares.</summary>
    public Guid Blob => BlobId ?? Id;

    /// <summary>The image's URI, built from the lowercase uuid as the tutorial's <c>str(uuid)</c>.</summary>
    public string Uri => UriOf(Id);

    public static string UriOf(Guid id) => UriOf(id.ToString());

    public static string UriOf(string id) => $"/images/{id}.jpeg";

    /// <summary>A strong ETag from the stored bytes' hash: the same on every instance, after every restart.</summary>
    public string ETag => $"\"{Sha256[..32]}\"";
}

/// <summary>Who may delete an image besides an admin: the holder of its delete token, and its uploader's key.</summary>
/// <param name="DeleteTokenHash">The SHA-256 of the token handed out with the upload's answer.</param>
/// <param name="OwnerKeyId">The SHA-256 of the upload key it came with, if any.</param>
public readonly record struct Ownership(string DeleteTokenHash, string? OwnerKeyId);

/// <summary>The order of the image list: the tutorial's (upload order), or the newest upload first.</summary>
public enum ListOrder
{
    OldestFirst,
    NewestFirst,
}

/// <summary>One page of the image list, in the order asked for.</summary>
/// <param name="HasMore">Whether more images follow the last one of this page.</param>
public sealed record ImagePage(IReadOnlyList<StoredImage> Images, bool HasMore);
