using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.Memory;

namespace Asgilook.Configuration;

/// <summary>
/// Keeps the Falcon tutorial's environment variables working as aliases of the
/// <c>Asgilook</c> section. They outrank appsettings.json and are outranked by the command line,
/// exactly like ordinary environment variables.
/// </summary>
public static class TutorialEnvironmentVariables
{
    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>
    {
        ["ASGI_LOOK_STORAGE_PATH"] = $"{AsgilookOptions.SectionName}:{nameof(AsgilookOptions.StoragePath)}",
        ["ASGI_LOOK_REDIS_HOST"] = $"{AsgilookOptions.SectionName}:{nameof(AsgilookOptions.RedisHost)}",
        ["ASGI_LOOK_DATABASE"] = $"{AsgilookOptions.SectionName}:{nameof(AsgilookOptions.Database)}",
    };

    public static IConfigurationBuilder AddTutorialEnvironmentVariables(this IConfigurationBuilder configuration)
    {
        var values = new Dictionary<string, string?>();
        foreach (var (variable, key) in Aliases)
        {
            var value = Environment.GetEnvironmentVariable(variable);
            if (!string.IsNullOrEmpty(value))
            {
                values[key] = value;
            }
        }

        var source = new MemoryConfigurationSource { InitialData = values };
        var commandLine = configuration.Sources.ToList().FindIndex(s => s is CommandLineConfigurationSource);
        if (commandLine >= 0)
        {
            configuration.Sources.Insert(commandLine, source);
        }
        else
        {
            configuration.Sources.Add(source);
        }

        return configuration;
    }
}
