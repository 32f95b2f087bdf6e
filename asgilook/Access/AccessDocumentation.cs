using Microsoft.OpenApi;

namespace Asgilook.Access;

/// <summary>The bearer credentials in the OpenAPI document: the security scheme, and which operations take it.</summary>
internal static class AccessDocumentation
{
    public const string Scheme = "bearer";

    public static void AddScheme(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An image's delete_token, an upload key (Asgilook:UploadKeys) or an admin key (Asgilook:AdminKeys).",
        };
    }

    /// <param name="optional">Uploads need a key only when upload keys are configured.</param>
    public static void RequireBearer(OpenApiOperation operation, OpenApiDocument document, bool optional)
    {
        var requirement = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] };
        operation.Security = optional ? [requirement, new OpenApiSecurityRequirement()] : [requirement];
    }
}
