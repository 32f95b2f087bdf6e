using Carter;

namespace Asgilook;

/// <summary>The tutorial's Images resource.</summary>
public sealed class ImagesModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapGet("/images", (Store store, Config config) => Results.Json(store.List().Select(image => image.Serialize(config.MinThumbSize))));
        app.MapPost("/images", Upload);
        app.MapGet("/images/{id:guid}.jpeg", (Guid id, Store store) =>
            store.Get(id) is null ? Results.NotFound() : Results.File(store.PathOf(id), "image/jpeg"));
    }

    private static async Task<IResult> Upload(HttpRequest request, Store store, Config config)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        try
        {
            var image = store.Save(body.ToArray());
            return Results.Created(image.Uri, image.Serialize(config.MinThumbSize));
        }
        catch (NetVips.VipsException)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Not an image libvips can read");
        }
    }
}
