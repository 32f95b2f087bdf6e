using Microsoft.Extensions.Options;

namespace Asgilook.Configuration;

public static class ConfigurationServices
{
    /// <summary>Where the service listens when no <c>--urls</c> (or ASPNETCORE_URLS) is given, like uvicorn.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>
    /// The built-in defaults, the tutorial's variables, the default address, and <see cref="AsgilookOptions"/> validated at
    /// startup: a bad setting stops the service with a message naming it, not on the first request.
    /// </summary>
    public static WebApplicationBuilder AddAsgilookConfiguration(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddEmbeddedDefaults().AddTutorialEnvironmentVariables();
        var configuration = builder.Configuration;
        var management = configuration[$"{AsgilookOptions.SectionName}:{nameof(AsgilookOptions.ManagementUrls)}"];
        if (!HasListenAddress(configuration))
        {
            builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(management) ? DefaultUrl : $"{DefaultUrl};{management}");
        }
        else if (!string.IsNullOrWhiteSpace(management) && configuration["urls"] is { Length: > 0 } urls)
        {
            // The public addresses and the management ones: Kestrel listens on both, the requests' local port tells them apart.
            builder.WebHost.UseUrls($"{urls};{management}");
        }

        builder.Services.AddOptions<AsgilookOptions>()
            .BindConfiguration(AsgilookOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AsgilookOptions>, AsgilookOptionsValidator>();
        return builder;
    }

    /// <summary>The validated settings, for the factories that build services from them.</summary>
    public static AsgilookOptions Settings(this IServiceProvider services) =>
        services.GetRequiredService<IOptions<AsgilookOptions>>().Value;

    private static bool HasListenAddress(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").Exists();
}
