using Asgilook.Imaging;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Asgilook.Http;

/// <summary>
/// Every RFC 9457 problem the service answers with, in one place: the resources return these as
/// results, and <see cref="ExceptionAnswers"/> writes the ones that arrive as exceptions.
/// </summary>
internal static class Problems
{
    /// <summary>A problem that can also come as an exception, with the <c>Retry-After</c> it carries.</summary>
    public sealed record Answer(int Status, string Title, string Detail, TimeSpan RetryAfter);

    /// <summary>The image work queue is full (<see cref="ServerBusyException"/>).</summary>
    public static readonly Answer ServerBusy = new(
        StatusCodes.Status503ServiceUnavailable, "Server busy",
        "The server is busy with other images; retry in a moment.", TimeSpan.FromSeconds(1));

    /// <summary>This client has as much image work queued as one client may (<see cref="ClientBusyException"/>): others go first.</summary>
    public static readonly Answer ClientBusy = new(
        StatusCodes.Status429TooManyRequests, "Too much work queued",
        "This client has as much image work waiting as one client may; retry when some of it is done.", TimeSpan.FromSeconds(2));

    /// <summary>No conversion worker can be started (<see cref="Sandbox.WorkerUnavailableException"/>).</summary>
    public static readonly Answer ConversionUnavailable = new(
        StatusCodes.Status503ServiceUnavailable, "Conversion unavailable",
        "The server cannot start the process that converts uploads right now; nothing was stored. Retry shortly.", TimeSpan.FromSeconds(5));

    /// <summary>The bucket holding the images does not answer (<see cref="Storage.StoreUnavailableException"/>).</summary>
    public static readonly Answer StoreUnavailable = new(
        StatusCodes.Status503ServiceUnavailable, "Image store unavailable",
        "The storage that holds the images' bytes does not answer; nothing was stored or changed. Try again shortly.", TimeSpan.FromSeconds(5));

    /// <summary>The moderation hook could not review an upload, and unreviewed uploads are refused (<see cref="Moderation.ModerationUnavailableException"/>).</summary>
    public static readonly Answer ModerationUnavailable = new(
        StatusCodes.Status503ServiceUnavailable, "Moderation unavailable",
        "The service that reviews uploads could not review this one; nothing was stored. Try again shortly.", TimeSpan.FromSeconds(5));

    /// <summary>The catalog database does not answer: a restart or a failover takes seconds.</summary>
    public static readonly Answer CatalogUnavailable = new(
        StatusCodes.Status503ServiceUnavailable, "Image catalog unavailable",
        "The database that lists the images does not answer; nothing was changed. Try again shortly.", TimeSpan.FromSeconds(5));

    public static ProblemHttpResult ImageNotFound(Guid id) =>
        Problem(StatusCodes.Status404NotFound, "Image not found", $"No image with id {id} is stored.");

    public static ProblemHttpResult ThumbnailSizeNotOffered(Guid id, int width, int height) =>
        Problem(StatusCodes.Status404NotFound, "Thumbnail size not offered",
            $"Image {id} offers no {width}x{height} thumbnail; its 'thumbnails' list names the sizes it offers.");

    public static ProblemHttpResult ThumbnailFormatNotOffered(Guid id, string format) =>
        Problem(StatusCodes.Status404NotFound, "Thumbnail format not offered",
            $"This server renders no {Quote(format)} thumbnails; image {id}'s 'sources' names the formats it offers.");

    public static ProblemHttpResult BadListQuery(string detail) =>
        Problem(StatusCodes.Status400BadRequest, "Bad list query", detail);

    public static ProblemHttpResult EmptyUpload() =>
        Problem(StatusCodes.Status400BadRequest, "Empty upload",
            "The request body is empty; send the image's bytes as the body (e.g. http POST :8000/images @photo.jpg).");

    public static ProblemHttpResult UploadTooLarge(long maxBytes) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
            $"The body is larger than the {maxBytes:N0} bytes an upload may have.");

    /// <summary>An upload the image engine refused, with the engine's reason for the client.</summary>
    public static ProblemHttpResult RejectedUpload(RejectedImageException rejection) => rejection.Reason switch
    {
        Rejection.UnsupportedFormat => Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported image format", rejection.Message),
        Rejection.TooManyPixels => Problem(StatusCodes.Status413PayloadTooLarge, "Image too large", rejection.Message),
        Rejection.TookTooLong => Problem(StatusCodes.Status422UnprocessableEntity, "Image too slow to convert", rejection.Message),
        Rejection.OverMemory => Problem(StatusCodes.Status413PayloadTooLarge, "Image too large to decode", rejection.Message),
        Rejection.DecoderFailed => Problem(StatusCodes.Status422UnprocessableEntity, "Image could not be decoded", rejection.Message),
        _ => Problem(StatusCodes.Status400BadRequest, "Not a readable image", rejection.Message),
    };

    public static ProblemHttpResult InsufficientStorage() =>
        Problem(StatusCodes.Status507InsufficientStorage, "Storage full",
            "The server has no room for more images right now; nothing was stored. Try again later.");

    /// <summary>The upload budget is spent; the caller has set Retry-After.</summary>
    public static ProblemHttpResult UploadsBusy() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "Server busy",
            "The server is receiving as many uploads as it can hold; nothing was stored. Retry in a moment.");

    public static ProblemHttpResult UploadTooSlow(int minimumBytesPerSecond) =>
        Problem(StatusCodes.Status408RequestTimeout, "Upload too slow",
            $"The body arrived slower than the {minimumBytesPerSecond:N0} bytes a second an upload needs; nothing was stored.");

    public static ProblemHttpResult TooManyListeners() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "Too many event streams",
            "This server has as many event streams open as it keeps; retry in a moment.");

    public static ProblemHttpResult TooManyListenersForClient(int perClient) =>
        Problem(StatusCodes.Status429TooManyRequests, "Too many event streams",
            $"This client has {perClient} event streams open already, as many as one client may; close one first.");

    public static ProblemHttpResult UploadKeyMissing(bool presented) =>
        Problem(StatusCodes.Status401Unauthorized, "Upload key required",
            presented
                ? "The Authorization header names no upload key this service knows; nothing was read or stored."
                : "Uploading needs an upload key: send it as Authorization: Bearer <key>. Nothing was read or stored.");

    public static ProblemHttpResult DeleteCredentialMissing(Guid id) =>
        Problem(StatusCodes.Status401Unauthorized, "Credential required",
            $"Deleting image {id} needs its delete_token (from the upload's answer), its uploader's key or an admin key, " +
            "as Authorization: Bearer <credential>.");

    public static ProblemHttpResult DeleteForbidden(Guid id) =>
        Problem(StatusCodes.Status403Forbidden, "Not allowed to delete",
            $"The credential is not image {id}'s delete token, its uploader's key or an admin key; nothing was deleted.");

    /// <summary>The problem type of an upload of blocked content, for clients to tell it from any other 422.</summary>
    public const string BlockedContentType = "urn:asgilook:problem:blocked-content";

    public static ProblemHttpResult BlockedContent() =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity, title: "Content blocked", type: BlockedContentType,
            detail: "This image's content was removed by an administrator and may not be uploaded again; nothing was stored.");

    /// <summary>The problem type of an upload the moderation hook refused.</summary>
    public const string ModerationRefusedType = "urn:asgilook:problem:moderation-refused";

    /// <summary>The hook's refusal; its detail is the hook's own reason when it gave one (already cleaned to one short line).</summary>
    public static ProblemHttpResult ModerationRefused(string? reason) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity, title: "Refused by moderation", type: ModerationRefusedType,
            detail: reason ?? "The service that reviews uploads refused this image and gave no reason; nothing was stored.");

    /// <summary>The problem type of an upload past its key's quota.</summary>
    public const string QuotaExceededType = "urn:asgilook:problem:quota-exceeded";

    /// <summary>507 naming the quota (<c>quota</c>: its setting), the limit and what the key stores.</summary>
    public static ProblemHttpResult QuotaExceeded(Quotas.QuotaExceededException past)
    {
        var (setting, limit, used, detail) = past.Limit switch
        {
            Quotas.QuotaLimit.Images => ("ImagesPerKey", past.Quota.Images, past.Usage.Images,
                $"This upload key may store {past.Quota.Images} images (Quotas:ImagesPerKey) and stores {past.Usage.Images}: " +
                "delete one to upload another. Nothing was stored."),
            _ => ("MegabytesPerKey", past.Quota.Bytes, past.Usage.Bytes,
                $"This upload key may store {past.Quota.Bytes / (1024 * 1024)} MiB of images (Quotas:MegabytesPerKey) and stores " +
                $"{past.Usage.Bytes / (1024.0 * 1024):0.##} MiB; this image does not fit. Delete some to make room. Nothing was stored."),
        };
        return TypedResults.Problem(
            statusCode: StatusCodes.Status507InsufficientStorage, title: "Quota exceeded", type: QuotaExceededType, detail: detail,
            extensions: new Dictionary<string, object?> { ["quota"] = setting, ["limit"] = limit, ["used"] = used });
    }

    public static ProblemHttpResult UsageKeyMissing(bool presented) =>
        Problem(StatusCodes.Status401Unauthorized, "Upload key required",
            presented
                ? "The Authorization header names no upload key this service knows."
                : "GET /usage answers for an upload key: send it as Authorization: Bearer <key>.");

    public static ProblemHttpResult BlockNotAllowed(Guid id) =>
        Problem(StatusCodes.Status403Forbidden, "Blocking needs an admin key",
            $"Only an admin key may delete image {id} with block=true (refusing its content from now on); nothing was deleted.");

    public static ProblemHttpResult BadBlockValue(string value) =>
        Problem(StatusCodes.Status400BadRequest, "Bad block value", $"block must be true or false, not {Quote(value)}; nothing was deleted.");

    /// <summary>A client over a rate limit; the caller has set Retry-After and the RateLimit headers.</summary>
    public static ProblemHttpResult TooManyRequests(RateLimiting.RateLimitDecision decision) =>
        Problem(StatusCodes.Status429TooManyRequests, "Too many requests", decision.Policy.Name switch
        {
            "uploads" => $"This client may upload {decision.Policy.PerMinute} images a minute; retry in {decision.RetryAfterSeconds} s. Nothing was read or stored.",
            "upload-megapixels" => $"This client may upload images of {decision.Policy.PerMinute:N0} megapixels a minute, and this one counts {decision.Cost:N0}; " +
                $"retry in {decision.RetryAfterSeconds} s. Nothing was stored.",
            _ => $"This client may have {decision.Policy.PerMinute} thumbnails rendered a minute (cached ones are free, one over a megapixel counts " +
                $"one per megapixel, this one {decision.Cost}); retry in {decision.RetryAfterSeconds} s.",
        });

    /// <summary>This client has as many bodies arriving, or bytes held, as one client may; the caller has set Retry-After.</summary>
    public static ProblemHttpResult UploadsBusyForClient(int bodies, int megabytes) =>
        Problem(StatusCodes.Status429TooManyRequests, "Too many uploads at once",
            $"This client is sending as many uploads at once as one client may ({bodies} bodies, or {megabytes:N0} MiB of them); " +
            "nothing was stored. Retry when one has finished.");

    /// <summary>
    /// What a client sent, quoted in a detail: at most 64 characters of it, in quotes, so that a problem
    /// never carries a megabyte of the client's text back (problems are JSON, never HTML).
    /// </summary>
    public static string Quote(string value) => value.Length <= 64 ? $"'{value}'" : $"'{value[..64]}…' ({value.Length:N0} characters)";

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
