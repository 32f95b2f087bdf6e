namespace Asgilook.Imaging;

/// <summary>The formats a thumbnail is rendered in: one URL each, told apart by its extension.</summary>
public enum ThumbnailFormat
{
    Jpeg,
    Webp,
    Avif,
}

public static class ThumbnailFormats
{
    /// <summary>Every format, in the order a page offers them: the smallest for the same look first.</summary>
    public static readonly ThumbnailFormat[] All = [ThumbnailFormat.Avif, ThumbnailFormat.Webp, ThumbnailFormat.Jpeg];

    public static string Extension(this ThumbnailFormat format) => format switch
    {
        ThumbnailFormat.Webp => "webp",
        ThumbnailFormat.Avif => "avif",
        _ => "jpeg",
    };

    public static string MediaType(this ThumbnailFormat format) => $"image/{format.Extension()}";

    /// <summary>The loader that reads the format back: what <see cref="FileStructure"/> checks a render against.</summary>
    public static ImageFormats.ImageLoader Loader(this ThumbnailFormat format) => format switch
    {
        ThumbnailFormat.Webp => ImageFormats.ImageLoader.Webp,
        ThumbnailFormat.Avif => ImageFormats.ImageLoader.Heif,
        _ => ImageFormats.ImageLoader.Jpeg,
    };

    /// <summary>The format an extension names, exactly as the URLs spell it (lower case), or null.</summary>
    public static ThumbnailFormat? FromExtension(string extension) => extension switch
    {
        "jpeg" => ThumbnailFormat.Jpeg,
        "webp" => ThumbnailFormat.Webp,
        "avif" => ThumbnailFormat.Avif,
        _ => null,
    };
}
