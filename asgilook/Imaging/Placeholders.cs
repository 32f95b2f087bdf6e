using System.Globalization;
using System.Text.RegularExpressions;

namespace Asgilook.Imaging;

/// <summary>The shape of a placeholder, shared by the engines that make them and the code that checks them.</summary>
public static partial class Placeholders
{
    /// <summary>The preview fits a square of this many pixels: enough for a blur, a few hundred bytes as WebP.</summary>
    public const int Side = 16;

    public const int PreviewBlur = 1;

    public const int PreviewQuality = 50;

    public static string Colour(double red, double green, double blue) =>
        string.Create(CultureInfo.InvariantCulture, $"#{Byte(red):x2}{Byte(green):x2}{Byte(blue):x2}");

    public static string DataUri(byte[] webp) => $"data:image/webp;base64,{Convert.ToBase64String(webp)}";

    /// <summary>
    /// Whether a placeholder from elsewhere (another instance's event) is one Asgilook makes: a page puts the
    /// preview in a style and the colour in a style, so nothing else may pass.
    /// </summary>
    public static bool IsWellFormed(Placeholder? placeholder) =>
        placeholder is null || (PreviewShape().IsMatch(placeholder.Preview) && ColourShape().IsMatch(placeholder.Colour));

    private static int Byte(double value) => (int)Math.Clamp(Math.Round(value), 0, 255);

    [GeneratedRegex("^data:image/webp;base64,[A-Za-z0-9+/]{1,1364}={0,2}$")]
    private static partial Regex PreviewShape();

    [GeneratedRegex("^#[0-9a-f]{6}$")]
    private static partial Regex ColourShape();
}
