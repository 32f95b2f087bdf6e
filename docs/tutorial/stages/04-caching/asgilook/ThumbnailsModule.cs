using Carter;

namespace Asgilook;

/// <summary>The tutorial's Thumbnails resource: rendered on the fly, in the listed sizes only.</summary>
public sealed class ThumbnailsModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapGet("/thumbnails/{id:guid}/{width:int}x{height:int}.jpeg", (Guid id, int width, int height, Store store, Config config) =>
            store.Get(id) is { } image && image.ThumbnailSizes(config.MinThumbSize).Contains((width, height))
                ? Results.Bytes(store.MakeThumbnail(image, width, height), "image/jpeg")
                : Results.NotFound());
}
