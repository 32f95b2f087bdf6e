using Asgilook.Caching;
using Asgilook.Imaging;
using Asgilook.Storage;
using Carter;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Asgilook.Images;

/// <summary>The Images resource: list the collection, upload (converting to JPEG), stream one image.</summary>
public sealed class ImagesModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/images").WithTags("Images");
        images.MapMethods("", [HttpMethods.Get, HttpMethods.Head], ListImages).WithName(nameof(ListImages));
        images.MapPost("", UploadImage).WithName(nameof(UploadImage));
        images.MapMethods("/{id:guid}.jpeg", [HttpMethods.Get, HttpMethods.Head], GetImage)
            .WithName(nameof(GetImage))
            .WithMetadata(ExcludeFromResponseCache.Instance);
    }

    internal static async Task<Ok<ImageResource[]>> ListImages(
        IImageStore store, IOptions<AsgilookOptions> options, CancellationToken cancellationToken)
    {
        var images = await store.ListAsync(cancellationToken);
        return TypedResults.Ok(images.Select(image => ImageResource.From(image, options.Value.MinThumbSize)).ToArray());
    }

    internal static async Task<Results<Created<ImageResource>, ProblemHttpResult>> UploadImage(
        HttpRequest request, IImageStore store, IImageIdGenerator ids, IOptions<AsgilookOptions> options,
        CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        if (body.Length == 0)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Empty upload",
                detail: "The request body is empty; send the image's bytes as the body (e.g. http POST :8000/images @photo.jpg).");
        }

        StoredImage image;
        try
        {
            image = await store.SaveAsync(ids.NewId(), body.ToArray(), cancellationToken);
        }
        catch (UnreadableImageException e)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a readable image", detail: e.Message);
        }

        return TypedResults.Created(image.Uri, ImageResource.From(image, options.Value.MinThumbSize));
    }

    internal static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> GetImage(
        Guid id, IImageStore store, CancellationToken cancellationToken)
    {
        var image = await store.GetAsync(id, cancellationToken);
        if (image is null)
        {
            return Problems.ImageNotFound(id);
        }

        // Streamed from disk by the server's send-file path, never read whole into memory.
        return TypedResults.PhysicalFile(store.PathOf(image), "image/jpeg");
    }
}
