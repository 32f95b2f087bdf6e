using Asgilook.Configuration;
using Microsoft.Extensions.Options;

namespace Asgilook.Operations;

/// <summary>Endpoint metadata for the operations endpoints: served on the management addresses when there are any.</summary>
/// <param name="PublicToo">Also served on the public addresses (liveness and the readiness summary).</param>
public sealed record OperationsEndpoint(bool PublicToo)
{
    public static readonly OperationsEndpoint ManagementOnly = new(PublicToo: false);
    public static readonly OperationsEndpoint Everywhere = new(PublicToo: true);
}

/// <summary>
/// With <c>Asgilook:ManagementUrls</c> set, the operations endpoints live on their own port, as
/// imgproxy keeps its metrics: the public port answers 404 for <c>/metrics</c> and <c>/openapi/v1.json</c>
/// and gives <c>/health/ready</c> without details, and the management port serves nothing but
/// operations. The request's local port decides, never its Host header (which a client chooses).
/// </summary>
public sealed class ManagementPort(RequestDelegate next, IOptions<AsgilookOptions> options)
{
    private readonly int[] _ports = PortsOf(options.Value.ManagementUrls);

    public static int[] PortsOf(string? urls) =>
        [.. Split(urls).Select(url => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Port : -1).Where(port => port > 0)];

    /// <summary>What is wrong with the setting, for the startup validation.</summary>
    public static IEnumerable<string> Failures(string? urls)
    {
        foreach (var url in Split(urls))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort)
            {
                yield return $"Asgilook:ManagementUrls '{url}' is not an http:// address with a port, such as http://127.0.0.1:9090.";
            }
        }
    }

    /// <summary>Whether the request may see the operations' details: always, unless they have a port of their own and this is not it.</summary>
    public static bool ShowsDetails(HttpContext context)
    {
        var ports = PortsOf(context.RequestServices.GetRequiredService<IOptions<AsgilookOptions>>().Value.ManagementUrls);
        return ports.Length == 0 || ports.Contains(context.Connection.LocalPort);
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (_ports.Length > 0)
        {
            var operations = context.GetEndpoint()?.Metadata.GetMetadata<OperationsEndpoint>();
            var onManagementPort = _ports.Contains(context.Connection.LocalPort);
            var served = onManagementPort ? operations is not null : operations is null or { PublicToo: true };
            if (!served)
            {
                context.SetEndpoint(null); // answered 404, as a path that does not exist
            }
        }

        return next(context);
    }

    private static string[] Split(string? urls) => (urls ?? string.Empty).Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
