using System.Globalization;

namespace Asgilook.Http;

/// <summary>The <c>Server-Timing</c> entries an answer carries (browsers' developer tools show them), written one way.</summary>
public static class ServerTiming
{
    public static void Append(HttpResponse response, string name, TimeSpan duration, string? description = null) =>
        response.Headers.Append("Server-Timing", description is null
            ? $"{name};dur={Milliseconds(duration)}"
            : $"{name};desc=\"{description}\";dur={Milliseconds(duration)}");

    private static string Milliseconds(TimeSpan duration) => duration.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture);
}
