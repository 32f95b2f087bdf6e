using Microsoft.AspNetCore.Http.HttpResults;

namespace Asgilook;

/// <summary>The RFC 9457 problem answers shared by several resources.</summary>
internal static class Problems
{
    public static ProblemHttpResult ImageNotFound(Guid id) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Image not found",
        detail: $"No image with id {id} is stored.");
}
