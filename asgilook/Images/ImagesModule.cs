using System.ComponentModel;
using System.Globalization;
using Asgilook.Access;
using Asgilook.Caching;
using Asgilook.Configuration;
using Asgilook.Http;
using Asgilook.Imaging;
using Asgilook.Moderation;
using Asgilook.Operations;
using Asgilook.Quotas;
using Asgilook.RateLimiting;
using Asgilook.Storage;
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
            .CacheResponses(new ResponseCachePolicy(ListQuery, MemoryTierPolicy.WhileGenerationHolds));
        images.MapPost("", UploadImage)
            .AddEndpointFilter<UploadKeyFilter>()
            .RateLimited(limits => limits.Uploads)
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
                "408 for a body slower than MinUploadBytesPerSecond; 422 for an image whose conversion runs past ImageWorkTimeout, or whose decoder fails, " +
                "or whose content an admin blocked (type " + Problems.BlockedContentType + "), " +
                "or that the moderation hook refused (type " + Problems.ModerationRefusedType + ", its reason as detail); " +
                "503 with Retry-After when the upload buffers are full, too many conversions are waiting, no conversion worker can start, " +
                "the catalog database or the bucket does not answer, or the moderation hook fails and Moderation:OnFailure is Reject; " +
                "507 when the storage has under MinFreeDiskMegabytes free, or when the image would take its upload key past " +
                "Quotas:ImagesPerKey or Quotas:MegabytesPerKey (type " + Problems.QuotaExceededType + ", naming the quota; before the body is read " +
                "when the key is at its limit already).")
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
            .WithDescription("Streamed from the storage folder or bucket, with a strong ETag, Last-Modified and Cache-Control: immutable. " +
                "Answers If-None-Match and If-Modified-Since (304), Range (206, 416) and If-Range. " +
                "503 with Retry-After while the catalog database or the bucket does not answer.")
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg")
            .Produces(StatusCodes.Status206PartialContent, contentType: "image/jpeg")
            .Produces(StatusCodes.Status304NotModified)
            .Produces(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        images.MapDelete("/{id:guid}.jpeg", DeleteImage)
            .WithName(nameof(DeleteImage))
            .WithSummary("Delete an image")
            .WithDescription("Removes the file, its metadata and every cached answer about it (the original, its thumbnails, the list). " +
                "Authorization: Bearer <credential>, where the credential is the image's delete_token, the upload key it was uploaded with, " +
                "or an admin key: 401 with WWW-Authenticate without one, 403 with another; nothing is removed then. " +
                "With block=true (an admin key only: 403 otherwise, nothing deleted), every other listed upload of the same content is deleted too, " +
                "and every later one is refused " +
                "with 422 of type " + Problems.BlockedContentType + ", on every instance and after restarts.")
            .AddOpenApiOperationTransformer((operation, context, _) =>
            {
                AccessDocumentation.RequireBearer(operation, context.Document!, optional: false);
                return Task.CompletedTask;
            })
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    internal static async Task<Results<JsonOk<ImageResource[]>, ProblemHttpResult>> ListImages(
        [Description("How many images to answer, 1 to 1000; all when absent.")] string? limit,
        [Description("The id of the last image of the previous page.")] string? after,
        [Description("oldest (the default: upload order, as the tutorial) or newest (the newest upload first).")] string? order,
        HttpResponse response, ImageStore store, ImageResources resources, CancellationToken cancellationToken)
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

        return new JsonOk<ImageResource[]>([.. page.Images.Select(resources.Of)]);
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

    // snippet: upload
    internal static async Task<Results<JsonCreated<UploadedImage>, ProblemHttpResult>> UploadImage(
        Uploader uploader, HttpContext context, [AsParameters] UploadServices services, CancellationToken cancellationToken)
    {
        // The upload key and the upload rate limit were checked at the route's edge: a refused body is never read.
        var (store, limits) = (services.Store, services.Options.Value);
        if (!store.HasRoomForUploads())
        {
            return Problems.InsufficientStorage();
        }

        store.ThrowIfStoreAway();
        try
        {
            // A key at its quota is refused before its body is read, as a full disk is.
            await store.ThrowIfPastQuotaAsync(uploader.KeyId, bytes: null, cancellationToken);
            var (body, refusal) = await UploadBody.ReadAsync(
                context, limits.MaxUploadBytes, services.Budget, uploader.Client, new MinDataRate(limits.MinUploadBytesPerSecond, MinimumRateGrace), cancellationToken);
            using var upload = body;
            services.Metrics.UploadReceived(upload?.Bytes.Length ?? 0);
            if (refusal is not null || upload is not { Bytes.Length: > 0 })
            {
                return Refused(refusal, limits, context.Response);
            }

            // The header is read by managed code here, before any decoder sees the bytes: it says what the upload costs.
            var pixels = store.Inspect(upload.Bytes).PixelsOr(limits.MaxPixels);
            if (await services.RateLimits.TakeAsync(context, services.RateLimits.UploadMegapixels, uploader.KeyId, pixels) is { Allowed: false } tooMuch)
            {
                return Problems.TooManyRequests(tooMuch);
            }

            var token = DeleteToken.New();
            var image = await store.SaveAsync(
                services.Ids.NewId(), upload.Bytes, new Ownership(token.Hash, uploader.KeyId), new WorkTicket(uploader.Client, pixels), cancellationToken);
            return new JsonCreated<UploadedImage>(image.Uri, new UploadedImage(services.Resources.Of(image), token.Value));
        }
        catch (RejectedImageException rejection)
        {
            return Problems.RejectedUpload(rejection);
        }
        catch (StorageFullException)
        {
            return Problems.InsufficientStorage();
        }
        catch (BlockedContentException)
        {
            return Problems.BlockedContent();
        }
        catch (ModerationRefusedException refused)
        {
            return Problems.ModerationRefused(refused.Reason);
        }
        catch (QuotaExceededException past)
        {
            return Problems.QuotaExceeded(past);
        }
    }
    // end snippet

    /// <summary>What a body the server would not take (or an empty one) is answered.</summary>
    private static ProblemHttpResult Refused(UploadRefusal? refusal, AsgilookOptions limits, HttpResponse response)
    {
        if (refusal is UploadRefusal.OverBudget or UploadRefusal.ClientOverBudget)
        {
            response.Headers.RetryAfter = "2";
        }

        return refusal switch
        {
            UploadRefusal.TooLarge => Problems.UploadTooLarge(limits.MaxUploadBytes),
            UploadRefusal.OverBudget => Problems.UploadsBusy(),
            UploadRefusal.ClientOverBudget => Problems.UploadsBusyForClient(limits.UploadsInFlightPerClient, limits.UploadBufferMegabytesPerClient),
            UploadRefusal.TooSlow => Problems.UploadTooSlow(limits.MinUploadBytesPerSecond),
            _ => Problems.EmptyUpload(),
        };
    }

    internal static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetImage(
        Guid id, HttpResponse response, ImageStore store, CancellationToken cancellationToken)
    {
        var image = await store.GetAsync(id, cancellationToken);
        if (image is null || await store.OpenOriginalAsync(image, cancellationToken) is not { } file)
        {
            return Problems.ImageNotFound(id);
        }

        // Streamed from the folder or the bucket, never read whole into memory. The result answers If-None-Match,
        // If-Modified-Since, Range and If-Range itself (304, 206, 416), and disposes the file.
        response.Headers.CacheControl = ConditionalRequest.Immutable;
        return TypedResults.File(
            file, "image/jpeg", lastModified: image.Modified,
            entityTag: EntityTagHeaderValue.Parse(image.ETag), enableRangeProcessing: true);
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteImage(
        Guid id,
        [Description("true: also refuse every later upload of the same content (an admin key only). false, the default: delete only.")] string? block,
        Bearer bearer, HttpResponse response, ImageStore store, Credentials credentials, CancellationToken cancellationToken)
    {
        var blocking = false;
        if (block is not null && !bool.TryParse(block, out blocking))
        {
            return Problems.BadBlockValue(block);
        }

        var image = await store.FindAsync(id, cancellationToken);
        if (image is null)
        {
            return Problems.ImageNotFound(id);
        }

        switch (credentials.MayDelete(image, bearer.Credential))
        {
            case DeleteAccess.NoCredential:
                Credentials.ChallengeOn(response);
                return Problems.DeleteCredentialMissing(id);
            case DeleteAccess.Denied:
                return Problems.DeleteForbidden(id);
        }

        if (blocking && !credentials.IsAdmin(bearer.Credential))
        {
            return Problems.BlockNotAllowed(id);
        }

        // The store tells the cache and the listeners once the image is gone.
        return await store.DeleteAsync(id, blocking, cancellationToken) is null
            ? Problems.ImageNotFound(id) // deleted meanwhile by another request
            : TypedResults.NoContent();
    }
}

/// <summary>What an upload's handler uses, besides who sends it.</summary>
internal readonly record struct UploadServices(
    ImageStore Store, IImageIdGenerator Ids, ImageResources Resources, RateLimits RateLimits, UploadBudget Budget,
    IOptions<AsgilookOptions> Options, AsgilookMetrics Metrics);
