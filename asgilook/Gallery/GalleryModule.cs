using Asgilook.Caching;
using Carter;

namespace Asgilook.Gallery;

/// <summary><c>GET /</c>: the gallery page of examples/gallery/, built into the app so the first command shows it.</summary>
public sealed class GalleryModule : ICarterModule
{
    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var resource = typeof(GalleryModule).Assembly.GetManifestResourceStream("gallery.html")
            ?? throw new InvalidOperationException("The gallery page is not built into the app.");
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    });

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], () => TypedResults.Bytes(Page.Value, "text/html; charset=utf-8"))
            .WithTags("Gallery")
            .WithName("Gallery")
            .WithSummary("The gallery page")
            .ExcludeFromDescription()
            .WithMetadata(ExcludeFromResponseCache.Instance);
    }
}
