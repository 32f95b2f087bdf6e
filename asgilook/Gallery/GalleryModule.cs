using Asgilook.Caching;
using Carter;

namespace Asgilook.Gallery;

/// <summary>
/// <c>GET /</c>: the gallery page of examples/gallery/ (with <c>/gallery.js</c> and <c>/gallery.css</c>),
/// built into the app so the first command shows it. The page runs under a strict Content-Security-Policy:
/// its own script and style only, images from here (and the data: and blob: URLs it makes), no framing.
/// </summary>
public sealed class GalleryModule : ICarterModule
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "gallery.html", "text/html; charset=utf-8"),
        ("/gallery.js", "gallery.js", "text/javascript; charset=utf-8"),
        ("/gallery.css", "gallery.css", "text/css; charset=utf-8"),
    ];

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var bytes = Read(resource);
            app.MapMethods(path, [HttpMethods.Get, HttpMethods.Head], (HttpResponse response) =>
                {
                    response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                    return TypedResults.Bytes(bytes, contentType);
                })
                .WithTags("Gallery")
                .WithName("Gallery " + resource)
                .ExcludeFromDescription();
        }
    }

    private static byte[] Read(string resource)
    {
        using var stream = typeof(GalleryModule).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The gallery's {resource} is not built into the app.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
