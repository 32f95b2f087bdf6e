using Asgilook.Storage;
using Carter;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Asgilook.Thumbnails;

/// <summary>The Thumbnails resource: JPEG thumbnails rendered on the fly, in the advertised sizes only.</summary>
public sealed class ThumbnailsModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapMethods("/thumbnails/{id:guid}/{width:int}x{height:int}.jpeg", [HttpMethods.Get, HttpMethods.Head], GetThumbnail)
            .WithTags("Thumbnails")
            .WithName(nameof(GetThumbnail));
    }

    internal static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetThumbnail(
        Guid id, int width, int height, HttpRequest request, IImageStore store, IOptions<AsgilookOptions> options,
        CancellationToken cancellationToken)
    {
        var image = await store.GetAsync(id, cancellationToken);
        if (image is null)
        {
            return Problems.ImageNotFound(id);
        }

        // Like the tutorial, accept only the exact URIs listed in the image's thumbnails.
        var listed = ThumbnailSeries.Contains(image.Width, image.Height, options.Value.MinThumbSize, (width, height));
        if (!listed || request.Path.Value != ThumbnailSeries.Uri(id, width, height))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Thumbnail size not offered",
                detail: $"Image {id} offers no {width}x{height} thumbnail; its 'thumbnails' list names the sizes it offers.");
        }

        var jpeg = await store.MakeThumbnailAsync(image, width, height, cancellationToken);
        return jpeg is null ? Problems.ImageNotFound(id) : TypedResults.Bytes(jpeg, "image/jpeg");
    }
}
