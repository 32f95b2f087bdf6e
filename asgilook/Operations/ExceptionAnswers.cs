using System.Data.Common;
using System.Globalization;
using Asgilook.Imaging;
using Microsoft.AspNetCore.Diagnostics;

namespace Asgilook.Operations;

/// <summary>
/// Exceptions that are expected outcomes, answered as problems instead of 500s: a full image work
/// queue, a catalog database that does not answer (both 503 with Retry-After), and a stored file
/// deleted between its lookup and its streaming (404).
/// </summary>
internal sealed class ExceptionAnswers(IProblemDetailsService problems) : IExceptionHandler
{
    /// <summary>How soon to try again when the database is away: a restart or a failover takes seconds.</summary>
    public static readonly TimeSpan CatalogRetryAfter = TimeSpan.FromSeconds(5);

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var answer = exception switch
        {
            ServerBusyException => new Answer(StatusCodes.Status503ServiceUnavailable, "Server busy", exception.Message, ServerBusyException.RetryAfter),
            // Npgsql marks a refused or broken connection and a timeout as transient.
            DbException { IsTransient: true } => new Answer(
                StatusCodes.Status503ServiceUnavailable, "Image catalog unavailable",
                "The database that lists the images does not answer; nothing was changed. Try again shortly.", CatalogRetryAfter),
            FileNotFoundException => new Answer(StatusCodes.Status404NotFound, "Image not found", "The image was deleted.", null),
            _ => null,
        };
        if (answer is null || context.Response.HasStarted)
        {
            return false;
        }

        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = answer.Status, Title = answer.Title, Detail = answer.Detail },
        });
    }

    private sealed record Answer(int Status, string Title, string Detail, TimeSpan? RetryAfter);
}
