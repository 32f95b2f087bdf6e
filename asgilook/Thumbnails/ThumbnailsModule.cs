using Asgilook.Imaging;
using Carter;
using Microsoft.OpenApi;

namespace Asgilook.Thumbnails;

/// <summary>The Thumbnails resource: JPEG, WebP and AVIF thumbnails rendered on the fly, in the advertised sizes only.</summary>
public sealed class ThumbnailsModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapMethods("/thumbnails/{id:guid}/{width:int}x{height:int}.{format}", [HttpMethods.Get, HttpMethods.Head], GetThumbnail)
            .WithTags("Thumbnails")
            .WithName(nameof(GetThumbnail))
            .WithSummary("A thumbnail, exactly width × height, as JPEG, WebP or AVIF")
            .WithDescription("format is jpeg, webp or avif (the ImageSharp engine renders no AVIF: 404); an image's 'sources' lists every URI. " +
                "One URL, one representation: nothing is negotiated on Accept. " +
                "Only the sizes an image lists in its 'thumbnails' are served (404 otherwise): each about half the previous, " +
                "down to MinThumbSize, none over MaxThumbnailPixels. Rendered on the fly with shrink-on-load, cached, and sent with a strong ETag, Last-Modified, " +
                "Cache-Control: immutable and Server-Timing. 429 with Retry-After when this client has had RendersPerMinute thumbnails rendered " +
                "in the last minute (answers from the cache do not count); 503 with Retry-After when too much image work is waiting or the " +
                "catalog database does not answer.")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                if (operation.Responses?.TryGetValue("200", out var ok) == true && ok is OpenApiResponse response)
                {
                    response.Content = ThumbnailFormats.All.ToDictionary(
                        format => format.MediaType(),
                        _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } });
                }

                return Task.CompletedTask;
            })
            .Produces(StatusCodes.Status200OK)
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    internal static Task<IResult> GetThumbnail(Guid id, int width, int height, string format, HttpContext context, ThumbnailPipeline thumbnails) =>
        thumbnails.AnswerAsync(context, new ThumbnailRequest(id, width, height, format));
}
