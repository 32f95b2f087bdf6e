using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Asgilook.Operations;

/// <summary>
/// What may be shown of a failure or a setting in an answer or a log line: never a password, key or
/// token, and never an exception's own text (which can quote a connection string or a request).
/// </summary>
public static partial class Redaction
{
    /// <summary>A failure as its kind: the exception's type and, where one is known, a safe reason.</summary>
    public static string Describe(Exception exception)
    {
        var reason = exception switch
        {
            _ when Find<SocketException>(exception) is { } socket => SocketReason(socket.SocketErrorCode),
            _ when Find<TimeoutException>(exception) is not null => "timed out",
            Npgsql.PostgresException postgres => $"SQLSTATE {postgres.SqlState}",
            // The error code S3 answered (NoSuchBucket, AccessDenied, SignatureDoesNotMatch...), never its message.
            Amazon.Runtime.AmazonServiceException { StatusCode: not 0 } s3 => $"{(int)s3.StatusCode} {SafeCode(s3.ErrorCode)}".TrimEnd(),
            System.Data.Common.DbException { IsTransient: true } => "transient",
            _ => null,
        };
        return reason is null ? exception.GetType().Name : $"{exception.GetType().Name}: {reason}";
    }

    /// <summary>A Redis address with its user and password replaced by <c>***</c>.</summary>
    public static string RedisHost(string value) =>
        value.Contains("://", StringComparison.Ordinal)
            ? UserInfo().Replace(value, "$1***@")
            : PasswordSetting().Replace(value, "$1=***");

    /// <summary>An error code as a server sent it, kept only when it is a plain word.</summary>
    private static string SafeCode(string? code) => code is { Length: > 0 and <= 64 } && code.All(char.IsAsciiLetterOrDigit) ? code : "";

    private static T? Find<T>(Exception exception) where T : Exception
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static string SocketReason(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.TimedOut => "timed out",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
        SocketError.ConnectionReset => "connection reset",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => "unreachable",
        _ => error.ToString(),
    };

    [GeneratedRegex("^([a-z]+://)[^@/]*@", RegexOptions.IgnoreCase)]
    private static partial Regex UserInfo();

    [GeneratedRegex("(password|user)=[^,]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordSetting();
}
