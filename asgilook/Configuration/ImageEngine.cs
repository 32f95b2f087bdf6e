namespace Asgilook.Configuration;

/// <summary>Which engine decodes, converts and renders images (<c>Asgilook:ImageEngine</c>).</summary>
public enum ImageEngine
{
    /// <summary>libvips, with ImageMagick for the formats the bundled libvips lacks: every format, the fastest (bench/RESULTS.md).</summary>
    Vips,

    /// <summary>SixLabors.ImageSharp 2.1, fully managed: fewer formats, no shrink-on-load, matrix colour profiles only.</summary>
    ImageSharp,
}
