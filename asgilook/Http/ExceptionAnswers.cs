using System.Data.Common;
using System.Globalization;
using Asgilook.Imaging;
using Microsoft.AspNetCore.Diagnostics;

namespace Asgilook.Http;

/// <summary>
/// The two conditions any request can run into, wherever it is, answered as 503 problems with
/// Retry-After instead of 500s: a full image work queue, and a catalog database that does not answer.
/// Everything else a request can be refused for is a result its resource returns.
/// </summary>
internal sealed class ExceptionAnswers(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var answer = exception switch
        {
            ServerBusyException => Problems.ServerBusy,
            // Npgsql marks a refused or broken connection and a timeout as transient; SQLite a busy or locked database.
            DbException { IsTransient: true } => Problems.CatalogUnavailable,
            _ => null,
        };
        if (answer is null || context.Response.HasStarted)
        {
            return false;
        }

        context.Response.StatusCode = answer.Status;
        context.Response.Headers.RetryAfter = ((int)answer.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = answer.Status, Title = answer.Title, Detail = answer.Detail },
        });
    }
}
