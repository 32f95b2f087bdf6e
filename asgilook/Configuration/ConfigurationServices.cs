using Microsoft.Extensions.Options;

namespace Asgilook.Configuration;

public static class ConfigurationServices
{
    /// <summary>Where the service listens when no <c>--urls</c> (or ASPNETCORE_URLS) is given, like uvicorn.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>
    /// The tutorial's variables, the default address, and <see cref="AsgilookOptions"/> validated at
    /// startup: a bad setting stops the service with a message naming it, not on the first request.
    /// </summary>
    public static WebApplicationBuilder AddAsgilookConfiguration(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddTutorialEnvironmentVariables();
        if (!HasListenAddress(builder.Configuration))
        {
            builder.WebHost.UseUrls(DefaultUrl);
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
