using System.ComponentModel;
using System.Globalization;
using Asgilook.Access;
using Asgilook.Caching;
using Asgilook.Configuration;
using Asgilook.Events;
using Asgilook.Http;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.RateLimiting;
using Asgilook.Storage;
using Asgilook.Thumbnails;
using Carter;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace Asgilook.Images;

/// <summary>The Images resource: list the collection, upload (converting to JPEG), stream or delete one image.</summary>
public sealed class ImagesModule : ICarterModule
{
    /// <summary>The largest page <c>GET /images?limit=N</c> answers.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>What a page of the list depends on, for its cache key: any other parameter cannot make a page a miss.</summary>
    private static readonly CacheVaryByQuery ListQuery = new(
        ("limit", value => PageSize(value)?.ToString(CultureInfo.InvariantCulture)),
        ("after", value => Guid.TryParse(value, out var id) ? id.ToString() : null),
        ("order", value => OrderOf(value)?.ToString()));

    /// <summary>How long an upload may arrive slower than <c>MinUploadBytesPerSecond</c> (a phone's connection has lulls).</summary>
    private static readonly TimeSpan MinimumRateGrace = TimeSpan.FromSeconds(5);

    private static readonly OpenApiRequestBody UploadBodyDocumentation = new()
    {
        Required = true,
        Description = "The image's bytes. Any Content-Type is taken: the format is recognised from the bytes.",
        Content = new[] { "image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/heif", "image/avif", "image/svg+xml", "image/bmp",
            "image/x-icon", "image/x-tga", "image/x-portable-anymap", "image/vnd.adobe.photoshop", "image/jxl", "image/jp2", "application/octet-stream" }
            .ToDictionary(type => type, _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }),
    };

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/images").WithTags("Images");
        images.MapMethods("", [HttpMethods.Get, HttpMethods.Head], ListImages)
            .WithName(nameof(ListImages))
            .WithSummary("List the stored images, oldest upload first")
            .WithDescription("Without parameters, every image, in upload order (order=newest: the newest first). " +
                "With limit (and after, the id of the previous page's last image), one page; " +
                "a Link header with rel=\"next\" names the next page when there is one. Cache-Control: no-cache. " +
                "503 with Retry-After while the catalog database does not answer.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithMetadata(ListQuery, HotCache.WhileGenerationHolds);
        images.MapPost("", UploadImage)
            .WithName(nameof(UploadImage))
            .WithSummary("Upload an image")
            .WithDescription("The body is the image's bytes: JPEG, PNG, GIF, WebP, TIFF, HEIF (HEIC and AVIF), SVG, BMP, ICO/CUR, TGA, " +
                "PBM/PGM/PPM, PSD, JPEG XL or JPEG 2000 (the ImageSharp engine reads the first eight of these but HEIF and SVG; " +
                "415 names the format it does not read). It is stored as an upright " +
                "8-bit sRGB JPEG without metadata. The answer carries delete_token, shown only here: DELETE takes it as a bearer credential. " +
                "When upload keys are configured, Authorization: Bearer <upload key> is required (401 without one, before the body is read). " +
                "It is decoded in a conversion worker process, never in the server. " +
                "429 with Retry-After and RateLimit headers past UploadsPerMinute or UploadMegapixelsPerMinute for this client, " +
                "or when it has as many uploads arriving or conversions queued as one client may. " +
                "413 for a body over MaxUploadBytes, a header declaring over MaxPixels (or a decode needing over MaxDecodeMegabytes), " +
                "or a decode that needs more than a conversion worker may hold (SandboxMemoryMegabytes); " +
                "415 for an SVG holding a picture or a reference outside itself; " +
                "408 for a body slower than MinUploadBytesPerSecond; 422 for an image whose conversion runs past ImageWorkTimeout, or whose decoder fails; " +
                "503 with Retry-After when the upload buffers are full, too many conversions are waiting, no conversion worker can start or the catalog database does not answer; " +
                "507 when the storage has under MinFreeDiskMegabytes free.")
            .AddOpenApiOperationTransformer((operation, context, _) =>
            {
                // Documentation only: routing must not refuse other Content-Types (curl sends form-urlencoded
                // by default), since the format is recognised from the bytes themselves.
                operation.RequestBody = UploadBodyDocumentation;
                AccessDocumentation.RequireBearer(operation, context.Document!, optional: true);
                return Task.CompletedTask;
            })
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status408RequestTimeout)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage);
        images.MapMethods("/{id:guid}.jpeg", [HttpMethods.Get, HttpMethods.Head], GetImage)
            .WithName(nameof(GetImage))
            .WithSummary("The stored JPEG")
            .WithDescription("Streamed from disk, with a strong ETag, Last-Modified and Cache-Control: immutable. " +
                "Answers If-None-Match and If-Modified-Since (304), Range (206, 416) and If-Range.")
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg")
            .Produces(StatusCodes.Status206PartialContent, contentType: "image/jpeg")
            .Produces(StatusCodes.Status304NotModified)
            .Produces(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithMetadata(ExcludeFromResponseCache.Instance);
        images.MapDelete("/{id:guid}.jpeg", DeleteImage)
            .WithName(nameof(DeleteImage))
            .WithSummary("Delete an image")
            .WithDescription("Removes the file, its metadata and every cached answer about it (the original, its thumbnails, the list). " +
                "Authorization: Bearer <credential>, where the credential is the image's delete_token, the upload key it was uploaded with, " +
                "or an admin key: 401 with WWW-Authenticate without one, 403 with another; nothing is removed then.")
            .AddOpenApiOperationTransformer((operation, context, _) =>
            {
                AccessDocumentation.RequireBearer(operation, context.Document!, optional: false);
                return Task.CompletedTask;
            })
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    internal static async Task<Results<Ok<ImageResource[]>, ProblemHttpResult>> ListImages(
        [Description("How many images to answer, 1 to 1000; all when absent.")] string? limit,
        [Description("The id of the last image of the previous page.")] string? after,
        [Description("oldest (the default: upload order, as the tutorial) or newest (the newest upload first).")] string? order,
        HttpResponse response, ImageStore store, IOptions<AsgilookOptions> options, CancellationToken cancellationToken)
    {
        var listOrder = ListOrder.OldestFirst;
        if (order is not null)
        {
            if (OrderOf(order) is not { } known)
            {
                return Problems.BadListQuery($"order must be oldest or newest, not {Problems.Quote(order)}.");
            }

            listOrder = known;
        }

        int? pageSize = null;
        if (limit is not null)
        {
            if (PageSize(limit) is not { } size)
            {
                return Problems.BadListQuery($"limit must be a whole number from 1 to {MaxPageSize}, not {Problems.Quote(limit)}.");
            }

            pageSize = size;
        }

        Guid? cursor = null;
        if (after is not null)
        {
            if (!Guid.TryParse(after, out var id))
            {
                return Problems.BadListQuery($"after must be the id (a uuid) of the last image of the previous page, not {Problems.Quote(after)}.");
            }

            cursor = id;
        }

        var page = await store.ListAsync(cursor, pageSize, listOrder, cancellationToken);
        if (page is null)
        {
            return Problems.BadListQuery($"after names no stored image ({Problems.Quote(after!)}); it may have been deleted. List again from the start.");
        }

        response.Headers.CacheControl = ConditionalRequest.Revalidate;
        if (page.HasMore)
        {
            var ordered = listOrder == ListOrder.NewestFirst ? "&order=newest" : "";
            response.Headers.Link = $"</images?limit={pageSize}&after={page.Images[^1].Id}{ordered}>; rel=\"next\"";
        }

        return TypedResults.Ok(page.Images.Select(image => ImageResource.From(image, ThumbnailLadder.Of(options.Value), store.ThumbnailFormats)).ToArray());
    }

    private static ListOrder? OrderOf(string value) => value switch
    {
        "oldest" => ListOrder.OldestFirst,
        "newest" => ListOrder.NewestFirst,
        _ => null,
    };

    /// <summary>A page size as the list takes it: digits only, 1 to <see cref="MaxPageSize"/>.</summary>
    private static int? PageSize(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size is >= 1 and <= MaxPageSize ? size : null;

    internal static async Task<Results<Created<UploadedImage>, ProblemHttpResult>> UploadImage(
        HttpContext context, ImageStore store, IImageIdGenerator ids, Credentials credentials, RateLimits rateLimits, UploadBudget budget,
        IOptions<AsgilookOptions> options, AsgilookMetrics metrics, ImageEvents events, CancellationToken cancellationToken)
    {
        // Who uploads, and whether they may, is decided from the headers: a refused body is never read.
        var credential = Credentials.BearerOf(context.Request);
        var uploader = credentials.UploadKeyId(credential);
        if (credentials.UploadsNeedKey && uploader is null)
        {
            Credentials.ChallengeOn(context.Response);
            return Problems.UploadKeyMissing(presented: credential is not null);
        }

        if (await rateLimits.TakeAsync(context, rateLimits.Uploads, uploader) is { Allowed: false } refused)
        {
            return Problems.TooManyRequests(refused);
        }

        if (!store.HasRoomForUploads())
        {
            return Problems.InsufficientStorage();
        }

        var limits = options.Value;
        var client = RateLimits.ClientOf(context, uploader);
        var (body, refusal) = await UploadBody.ReadAsync(
            context, limits.MaxUploadBytes, budget, client, new MinDataRate(limits.MinUploadBytesPerSecond, MinimumRateGrace), cancellationToken);
        using var upload = body;
        metrics.UploadReceived(upload?.Bytes.Length ?? 0);
        switch (refusal)
        {
            case UploadRefusal.TooLarge:
                return Problems.UploadTooLarge(limits.MaxUploadBytes);
            case UploadRefusal.OverBudget:
                context.Response.Headers.RetryAfter = "2";
                return Problems.UploadsBusy();
            case UploadRefusal.ClientOverBudget:
                context.Response.Headers.RetryAfter = "2";
                return Problems.UploadsBusyForClient(limits.UploadsInFlightPerClient, limits.UploadBufferMegabytesPerClient);
            case UploadRefusal.TooSlow:
                return Problems.UploadTooSlow(limits.MinUploadBytesPerSecond);
        }

        if (upload!.Bytes.Length == 0)
        {
            return Problems.EmptyUpload();
        }

        var token = DeleteToken.New();
        StoredImage image;
        try
        {
            // The header is read by managed code here, before any decoder sees the bytes: it says what the upload costs.
            var pixels = store.Inspect(upload.Bytes).PixelsOr(limits.MaxPixels);
            if (await rateLimits.TakeAsync(context, rateLimits.UploadMegapixels, uploader, pixels) is { Allowed: false } tooMuch)
            {
                return Problems.TooManyRequests(tooMuch);
            }

            image = await store.SaveAsync(ids.NewId(), upload.Bytes, new Ownership(token.Hash, uploader), new WorkTicket(client, pixels), cancellationToken);
        }
        catch (RejectedImageException rejection)
        {
            return Problems.RejectedUpload(rejection);
        }
        catch (StorageFullException)
        {
            return Problems.InsufficientStorage();
        }

        var resource = ImageResource.From(image, ThumbnailLadder.Of(limits), store.ThumbnailFormats);
        await events.PublishAsync(new ImageUploaded(resource));
        return TypedResults.Created(image.Uri, new UploadedImage(resource, token.Value));
    }

    internal static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetImage(
        Guid id, HttpResponse response, ImageStore store, CancellationToken cancellationToken)
    {
        var image = await store.GetAsync(id, cancellationToken);
        if (image is null || store.OpenOriginal(image) is not { } file)
        {
            return Problems.ImageNotFound(id);
        }

        // Streamed from disk, never read whole into memory. The result answers If-None-Match,
        // If-Modified-Since, Range and If-Range itself (304, 206, 416), and disposes the file.
        response.Headers.CacheControl = ConditionalRequest.Immutable;
        return TypedResults.File(
            file, "image/jpeg", lastModified: image.Modified,
            entityTag: EntityTagHeaderValue.Parse(image.ETag), enableRangeProcessing: true);
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteImage(
        Guid id, HttpContext context, ImageStore store, Credentials credentials, ImageEvents events, IOptions<AsgilookOptions> options,
        CancellationToken cancellationToken)
    {
        var image = await store.FindAsync(id, cancellationToken);
        if (image is null)
        {
            return Problems.ImageNotFound(id);
        }

        switch (credentials.MayDelete(image, Credentials.BearerOf(context.Request)))
        {
            case DeleteAccess.NoCredential:
                Credentials.ChallengeOn(context.Response);
                return Problems.DeleteCredentialMissing(id);
            case DeleteAccess.Denied:
                return Problems.DeleteForbidden(id);
        }

        var deleted = await store.DeleteAsync(id, cancellationToken);
        if (deleted is null)
        {
            return Problems.ImageNotFound(id); // deleted meanwhile by another request
        }

        await events.PublishAsync(new ImageDeleted(ImageResource.From(deleted, ThumbnailLadder.Of(options.Value), store.ThumbnailFormats)));
        return TypedResults.NoContent();
    }
}
