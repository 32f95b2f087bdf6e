using Asgilook.Imaging;
using Microsoft.AspNetCore.Diagnostics;

namespace Asgilook.Operations;

/// <summary>
/// Exceptions that are expected outcomes, answered as problems instead of 500s: a full image work
/// queue (503 with Retry-After), and a stored file deleted between its lookup and its streaming (404).
/// </summary>
internal sealed class ExceptionAnswers(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title) = exception switch
        {
            ServerBusyException => (StatusCodes.Status503ServiceUnavailable, "Server busy"),
            FileNotFoundException => (StatusCodes.Status404NotFound, "Image not found"),
            _ => (0, string.Empty),
        };
        if (status == 0 || context.Response.HasStarted)
        {
            return false;
        }

        context.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = ((int)ServerBusyException.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = status == StatusCodes.Status404NotFound ? "The image was deleted." : exception.Message },
        });
    }
}
