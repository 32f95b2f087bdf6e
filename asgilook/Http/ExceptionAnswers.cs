using System.Data.Common;
using System.Globalization;
using Asgilook.Imaging;
using Asgilook.Operations;
using Microsoft.AspNetCore.Diagnostics;

namespace Asgilook.Http;

/// <summary>
/// The conditions any request can run into, wherever it is, answered as 503 problems with Retry-After instead of
/// 500s: a full image work queue, a catalog database, a bucket or a moderation hook that does not answer.
/// Everything else a request can be refused for is a result its resource returns. Any other
/// exception is a 500 problem that says only that the failure was logged, and the log line names the
/// exception's type and where it was thrown, never its message (which can quote a secret or a request).
/// </summary>
internal sealed partial class ExceptionAnswers(IProblemDetailsService problems, ILogger<ExceptionAnswers> logger) : IExceptionHandler
{
    /// <summary>SQLSTATE read_only_sql_transaction.</summary>
    private const string ReadOnlyTransaction = "25006";

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var answer = exception switch
        {
            ServerBusyException or ImageWorkTimeoutException => Problems.ServerBusy,
            ClientBusyException => Problems.ClientBusy,
            Sandbox.WorkerUnavailableException => Problems.ConversionUnavailable,
            Storage.StoreUnavailableException => Problems.StoreUnavailable,
            Moderation.ModerationUnavailableException => Problems.ModerationUnavailable,
            // Npgsql marks a refused or broken connection and a timeout as transient; SQLite a busy or locked database.
            DbException { IsTransient: true } => Problems.CatalogUnavailable,
            // A primary demoted during a failover refuses writes until clients reconnect to the new one.
            Npgsql.PostgresException { SqlState: ReadOnlyTransaction } => Problems.CatalogUnavailable,
            _ => null,
        };
        if (context.Response.HasStarted)
        {
            return false;
        }

        if (answer is null)
        {
            Log.Failed(logger, context.Request.Method, context.Request.Path.Value, Redaction.Describe(exception), context.TraceIdentifier, exception.StackTrace);
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status500InternalServerError,
                    Title = "Internal error",
                    Detail = $"The server failed to answer; the failure is logged under trace id {context.TraceIdentifier}.",
                },
            });
        }

        context.Response.StatusCode = answer.Status;
        context.Response.Headers.RetryAfter = ((int)answer.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = answer.Status, Title = answer.Title, Detail = answer.Detail },
        });
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Error, "{Method} {Path} failed with {Failure} (trace id {TraceId}) at\n{StackTrace}")]
        public static partial void Failed(ILogger logger, string method, string? path, string failure, string traceId, string? stackTrace);
    }
}
