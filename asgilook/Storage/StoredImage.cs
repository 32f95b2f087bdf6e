namespace Asgilook.Storage;

/// <summary>What the store knows of one uploaded image.</summary>
public sealed record StoredImage(Guid Id, int Width, int Height, DateTimeOffset Modified)
{
    /// <summary>The image's URI, built from the lowercase uuid as the tutorial's <c>str(uuid)</c>.</summary>
    public string Uri => $"/images/{Id}.jpeg";
}
