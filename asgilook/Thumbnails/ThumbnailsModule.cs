using System.Diagnostics;
using System.Globalization;
using Asgilook.Caching;
using Asgilook.Configuration;
using Asgilook.Http;
using Asgilook.Imaging;
using Asgilook.RateLimiting;
using Asgilook.Storage;
using Carter;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace Asgilook.Thumbnails;

/// <summary>The Thumbnails resource: JPEG, WebP and AVIF thumbnails rendered on the fly, in the advertised sizes only.</summary>
public sealed class ThumbnailsModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapMethods("/thumbnails/{id:guid}/{width:int}x{height:int}.{format}", [HttpMethods.Get, HttpMethods.Head], GetThumbnail)
            .WithMetadata(FillOnce.Instance, HotCache.UntilInvalidated)
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

    internal static async Task<Results<FileContentHttpResult, FileStreamHttpResult, StatusCodeHttpResult, ProblemHttpResult>> GetThumbnail(
        Guid id, int width, int height, string format, HttpContext context, ImageStore store, RateLimits rateLimits,
        IOptions<AsgilookOptions> options, CancellationToken cancellationToken)
    {
        var (request, response) = (context.Request, context.Response);
        var image = await store.GetAsync(id, cancellationToken);
        if (image is null)
        {
            return Problems.ImageNotFound(id);
        }

        if (ThumbnailFormats.FromExtension(format) is not { } kind || !store.ThumbnailFormats.Contains(kind))
        {
            return Problems.ThumbnailFormatNotOffered(id, format);
        }

        // snippet: guard
        // Like the tutorial, accept only the exact URIs listed in the image's thumbnails.
        var listed = ThumbnailSeries.Contains(image.Width, image.Height, ThumbnailLadder.Of(options.Value), (width, height));
        if (!listed || request.Path.Value != ThumbnailSeries.Uri(id, width, height, kind))
        {
            return Problems.ThumbnailSizeNotOffered(id, width, height);
        }
        // end snippet

        // The ETag is known before rendering, so a revalidation costs no libvips work at all.
        var etag = store.ThumbnailETag(image, width, height, kind);
        if (ConditionalRequest.IsNotModified(request, etag, image.Modified))
        {
            ConditionalRequest.SetValidators(response, etag, image.Modified, ConditionalRequest.Immutable);
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        response.Headers.CacheControl = ConditionalRequest.Immutable;
        var entityTag = EntityTagHeaderValue.Parse(etag);

        // Rendered once for the image's lifetime: after that, a miss streams the render kept beside the image.
        var reading = Stopwatch.StartNew();
        if (store.OpenKeptThumbnail(image, width, height, kind) is { } kept)
        {
            response.Headers.Append("Server-Timing", $"kept;desc=\"open the kept render\";dur={Milliseconds(reading.Elapsed)}");
            return TypedResults.File(kept, kind.MediaType(), lastModified: image.Modified, entityTag: entityTag);
        }

        // Only a render costs: answers from the cache or from a kept render never come here.
        if (await rateLimits.TakeAsync(context, rateLimits.Renders, pixels: (long)width * height) is { Allowed: false } refused)
        {
            return Problems.TooManyRequests(refused);
        }

        var thumbnail = await store.RenderThumbnailAsync(image, width, height, kind, RateLimits.ClientOf(context, uploadKeyId: null));
        if (thumbnail is null)
        {
            return Problems.ImageNotFound(id);
        }

        response.Headers.Append("Server-Timing",
            $"queue;dur={Milliseconds(thumbnail.Queue)}, resize;desc=\"decode and resize\";dur={Milliseconds(thumbnail.Resize)}, encode;dur={Milliseconds(thumbnail.Encode)}");
        return TypedResults.Bytes(thumbnail.Bytes, kind.MediaType(), lastModified: image.Modified, entityTag: entityTag);
    }

    private static string Milliseconds(TimeSpan duration) => duration.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture);
}
