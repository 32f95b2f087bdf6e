using Microsoft.OpenApi;

namespace Asgilook.Operations;

/// <summary>
/// The OpenAPI document's title and description, and the operations endpoints: they are not route
/// handlers (health checks and the Prometheus exporter map request delegates), so the document
/// generator does not see them itself.
/// </summary>
internal static class OperationsDocumentation
{
    public static void AddTo(OpenApiDocument document)
    {
        document.Info.Title = "Asgilook";
        document.Info.Description =
            "An image-sharing API: upload any image, get it back as a JPEG by uuid, list what is stored, and fetch " +
            "mipmap-style thumbnails rendered on the fly and kept in a response cache. Every error is an RFC 9457 problem.";
        document.Paths ??= [];
        Add(document, "/health", "Liveness: the process answers", ("200", "Healthy, as JSON"));
        Add(document, "/health/ready", "Readiness: storage writable, catalog answering, cache reachable, moderation hook answering",
            ("200", "Healthy, or Degraded when the cache does not answer (requests are then served uncached) or the moderation hook's " +
                "last review failed (uploads are then refused or stored unreviewed, per Moderation:OnFailure), as JSON; each check's details " +
                "only on the management addresses when Asgilook:ManagementUrls is set"),
            ("503", "Unhealthy: the storage folder is not writable or the catalog database does not answer"));
        Add(document, "/metrics", "Metrics in Prometheus text (OpenTelemetry); on the management addresses only when Asgilook:ManagementUrls is set",
            ("200", "The metrics"));
    }

    private static void Add(OpenApiDocument document, string path, string summary, params (string Status, string Description)[] responses)
    {
        var operation = new OpenApiOperation { Summary = summary, Responses = [] };
        foreach (var (status, description) in responses)
        {
            operation.Responses[status] = new OpenApiResponse { Description = description };
        }

        document.Paths![path] = new OpenApiPathItem { Operations = new() { [HttpMethod.Get] = operation } };
    }
}
