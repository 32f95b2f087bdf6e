using System.Text;
using System.Text.RegularExpressions;

namespace Asgilook.Imaging;

/// <summary>
/// What an SVG may hold to be taken: shapes, text, gradients and its own fragments, nothing that makes the
/// renderer load or decode another picture. librsvg decodes a <c>data:</c> image embedded in an SVG with
/// no limit of Asgilook's (a 4 MB SVG declaring 64×64 held 4 GB), and fetches nothing else only because it
/// is given no base URL; so an SVG with an <c>&lt;image&gt;</c> or <c>&lt;feImage&gt;</c>, a <c>data:</c> URL,
/// a reference to anything outside itself (<c>href</c>, <c>url(...)</c>, <c>@import</c>, XInclude) or an
/// entity declaration is refused (415) with the reason, before any renderer sees it.
/// </summary>
public static partial class SvgPolicy
{
    /// <summary>Why the SVG is refused; null when it may be rendered.</summary>
    public static string? Problem(ReadOnlySpan<byte> svg)
    {
        var text = Encoding.UTF8.GetString(svg);
        try
        {
            if (Entity().IsMatch(text))
            {
                return "it declares entities (<!ENTITY> or a DOCTYPE with an internal subset)";
            }

            if (Image().IsMatch(text))
            {
                return "it embeds a picture (<image> or <feImage>)";
            }

            if (text.Contains("data:", StringComparison.OrdinalIgnoreCase))
            {
                return "it holds a data: URL";
            }

            if (text.Contains("@import", StringComparison.OrdinalIgnoreCase))
            {
                return "its style imports another file (@import)";
            }

            if (OutsideReference().IsMatch(text) || OutsideUrl().IsMatch(text))
            {
                return "it refers to something outside itself (an href or url() that is not #fragment)";
            }

            return null;
        }
        catch (RegexMatchTimeoutException)
        {
            return "it could not be checked in time";
        }
    }

    [GeneratedRegex(@"<!ENTITY|<!DOCTYPE[^>\[]*\[", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Entity();

    [GeneratedRegex(@"<(?:[A-Za-z0-9_.-]+:)?(?:image|feImage)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Image();

    /// <summary>An href (plain, xlink: or any namespace's) whose value does not start with '#'.</summary>
    [GeneratedRegex(@"\bhref\s*=\s*(?:""\s*(?!#)[^""]*""|'\s*(?!#)[^']*')", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex OutsideReference();

    /// <summary>A url(...) whose target does not start with '#'.</summary>
    [GeneratedRegex(@"url\(\s*['""]?\s*(?!#)[^)\s'""]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex OutsideUrl();
}
