using Microsoft.Extensions.Configuration.Memory;

namespace Asgilook.Configuration;

/// <summary>
/// The settings appsettings.json holds, built in under every other source: appsettings.json is read
/// from the content root, which is the working folder, so <c>dotnet path/to/Asgilook.dll</c> started
/// from anywhere else would run without it, and ASP.NET Core would then log four lines per request.
/// </summary>
public static class EmbeddedDefaults
{
    /// <summary>Set to Information to log every request (<see cref="Operations.RequestLog"/>).</summary>
    public const string RequestLogLevelKey = "Logging:LogLevel:Asgilook.Operations.RequestLog";

    public static readonly IReadOnlyDictionary<string, string?> Values = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        // One line per request costs a fifth of a cached answer's CPU (bench/RESULTS.md): an access log
        // is for when it is wanted, as ASP.NET Core's own request lines are.
        [RequestLogLevelKey] = "Warning",
    };

    public static IConfigurationBuilder AddEmbeddedDefaults(this IConfigurationBuilder configuration)
    {
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Values });
        return configuration;
    }
}
