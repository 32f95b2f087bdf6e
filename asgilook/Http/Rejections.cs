using Asgilook.Operations;

namespace Asgilook.Http;

/// <summary>
/// Runs as every problem+json answer is written: gives the router's bare 404 and 405 a detail a person
/// can act on, counts each rejection, and logs it (<see cref="RejectionLog"/>: at a bounded rate, client text
/// escaped) with what was asked and why it was refused, never the request's body.
/// </summary>
internal static class Rejections
{
    public static void Describe(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var request = context.HttpContext.Request;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        problem.Detail ??= status switch
        {
            StatusCodes.Status404NotFound => $"Nothing is served at {Problems.Quote(request.Path.Value ?? "/")}.",
            StatusCodes.Status405MethodNotAllowed => $"{request.Method} is not allowed on {Problems.Quote(request.Path.Value ?? "/")}; the Allow header lists what is.",
            _ => null,
        };

        if (status is >= 400 and < 500 or StatusCodes.Status503ServiceUnavailable)
        {
            var services = context.HttpContext.RequestServices;
            services.GetRequiredService<AsgilookMetrics>().Rejected(status);
            services.GetRequiredService<RejectionLog>().Rejected(request.Method, request.Path.Value, status, problem.Title, problem.Detail);
        }
    }
}
