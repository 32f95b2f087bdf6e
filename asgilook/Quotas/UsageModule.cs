using Asgilook.Access;
using Asgilook.Http;
using Carter;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Asgilook.Quotas;

/// <summary>The Usage resource: what an upload key stores, and what its quotas let it store.</summary>
public sealed class UsageModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapGet("/usage", GetUsage)
            .WithTags("Usage")
            .WithName(nameof(GetUsage))
            .WithSummary("What an upload key stores, and its quotas")
            .WithDescription("Authorization: Bearer <upload key>: the images uploaded with that key and the bytes of their stored JPEGs, " +
                "beside Quotas:ImagesPerKey and Quotas:MegabytesPerKey (null: no limit). 401 without a known upload key. " +
                "Cache-Control: no-store. 503 with Retry-After while the catalog database does not answer.")
            .AddOpenApiOperationTransformer((operation, context, _) =>
            {
                AccessDocumentation.RequireBearer(operation, context.Document!, optional: false);
                return Task.CompletedTask;
            })
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    internal static async Task<Results<JsonOk<KeyUsageResource>, ProblemHttpResult>> GetUsage(
        Bearer bearer, HttpResponse response, Credentials credentials, Storage.ImageStore store, CancellationToken cancellationToken)
    {
        if (credentials.UploadKeyId(bearer.Credential) is not { } keyId)
        {
            Credentials.ChallengeOn(response);
            return Problems.UsageKeyMissing(bearer.Credential is not null);
        }

        var (usage, quota) = await store.UsageAsync(keyId, cancellationToken);
        response.Headers.CacheControl = "no-store";
        return new JsonOk<KeyUsageResource>(new KeyUsageResource(
            usage.Images, usage.Bytes, new QuotaLimits(quota.Images > 0 ? quota.Images : null, quota.Bytes > 0 ? quota.Bytes : null)));
    }
}

/// <summary>An upload key's usage as <c>GET /usage</c> answers it.</summary>
public sealed record KeyUsageResource(long Images, long Bytes, QuotaLimits Limits);

/// <summary>The key's quotas: at most this many images and bytes of stored JPEGs; null where there is no limit.</summary>
public sealed record QuotaLimits(long? Images, long? Bytes);
