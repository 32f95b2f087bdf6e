using System.Globalization;
using System.Text;

namespace Asgilook.Http;

/// <summary>
/// The log of rejected requests, held to a rate a flood cannot turn into a disk filler: at most
/// <see cref="PerSecond"/> lines a second (a burst of <see cref="Burst"/>), and then one line saying how many
/// were left out. Whatever a client put in the path or a quoted value is written escaped (no line breaks
/// or control characters of its own) and cut short, so no request can forge or blow up a log line.
/// Every rejection is still counted in <c>asgilook_requests_rejected_total</c>.
/// </summary>
public sealed partial class RejectionLog(ILogger<RejectionLog> logger, TimeProvider clock)
{
    public const int PerSecond = 10;
    public const int Burst = 20;

    /// <summary>The most characters of client text a line carries.</summary>
    public const int MaxClientText = 120;

    private readonly Lock _lock = new();
    private double _tokens = Burst;
    private DateTimeOffset _at = clock.GetUtcNow();
    private long _leftOut;

    public void Rejected(string method, string? path, int status, string? title, string? detail)
    {
        long leftOut;
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            _tokens = Math.Min(Burst, _tokens + (Math.Max(0, (now - _at).TotalSeconds) * PerSecond));
            _at = now;
            if (_tokens < 1)
            {
                _leftOut++;
                return;
            }

            _tokens--;
            leftOut = _leftOut;
            _leftOut = 0;
        }

        if (leftOut > 0)
        {
            Log.LeftOut(logger, leftOut);
        }

        Log.Rejected(logger, Escape(method), Escape(path ?? "/"), status, title, Escape(detail ?? string.Empty));
    }

    /// <summary>Client text as a log line may carry it: printable, control characters as <c>\xNN</c>, at most <see cref="MaxClientText"/> characters.</summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(Math.Min(text.Length, MaxClientText) + 8);
        foreach (var character in text)
        {
            if (escaped.Length >= MaxClientText)
            {
                return escaped.Append(CultureInfo.InvariantCulture, $"… ({text.Length:N0} characters)").ToString();
            }

            if (char.IsControl(character) || character is '\u2028' or '\u2029')
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\x{(int)character:x2}");
            }
            else
            {
                escaped.Append(character);
            }
        }

        return escaped.ToString();
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Rejected {Method} {Path}: {Status} {Title}. {Detail}")]
        public static partial void Rejected(ILogger logger, string method, string path, int status, string? title, string detail);

        [LoggerMessage(LogLevel.Warning, "{Count} more rejected request(s) were not logged (at most 10 lines a second are)")]
        public static partial void LeftOut(ILogger logger, long count);
    }
}
