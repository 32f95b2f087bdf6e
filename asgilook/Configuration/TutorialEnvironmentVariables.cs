using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.Memory;

namespace Asgilook.Configuration;

/// <summary>
/// Keeps the Falcon tutorial's environment variables (and the <c>ASGI_LOOK_*</c> ones added in its
/// style) working as aliases of the <c>Asgilook</c> section. They outrank appsettings.json and are
/// outranked by the command line, exactly like ordinary environment variables.
/// </summary>
public static class TutorialEnvironmentVariables
{
    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>
    {
        ["ASGI_LOOK_STORAGE_PATH"] = Key(nameof(AsgilookOptions.StoragePath)),
        ["ASGI_LOOK_REDIS_HOST"] = Key(nameof(AsgilookOptions.RedisHost)),
        ["ASGI_LOOK_DATABASE"] = Key(nameof(AsgilookOptions.Database)),
        ["ASGI_LOOK_IMAGE_ENGINE"] = Key(nameof(AsgilookOptions.ImageEngine)),
        ["ASGI_LOOK_S3_ENDPOINT"] = Key($"{nameof(AsgilookOptions.S3)}:{nameof(S3Options.Endpoint)}"),
        ["ASGI_LOOK_S3_BUCKET"] = Key($"{nameof(AsgilookOptions.S3)}:{nameof(S3Options.Bucket)}"),
        ["ASGI_LOOK_S3_ACCESS_KEY"] = Key($"{nameof(AsgilookOptions.S3)}:{nameof(S3Options.AccessKey)}"),
        ["ASGI_LOOK_S3_SECRET_KEY"] = Key($"{nameof(AsgilookOptions.S3)}:{nameof(S3Options.SecretKey)}"),
        ["ASGI_LOOK_S3_REGION"] = Key($"{nameof(AsgilookOptions.S3)}:{nameof(S3Options.Region)}"),
    };

    /// <summary>Variables holding a list, comma-separated.</summary>
    public static readonly IReadOnlyDictionary<string, string> ListAliases = new Dictionary<string, string>
    {
        ["ASGI_LOOK_ADMIN_KEYS"] = Key(nameof(AsgilookOptions.AdminKeys)),
        ["ASGI_LOOK_UPLOAD_KEYS"] = Key(nameof(AsgilookOptions.UploadKeys)),
    };

    public static IConfigurationBuilder AddTutorialEnvironmentVariables(this IConfigurationBuilder configuration)
    {
        var values = new Dictionary<string, string?>();
        foreach (var (variable, key) in Aliases)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                values[key] = value;
            }
        }

        foreach (var (variable, key) in ListAliases)
        {
            var items = (Environment.GetEnvironmentVariable(variable) ?? string.Empty)
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (var i = 0; i < items.Length; i++)
            {
                values[$"{key}:{i}"] = items[i];
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

    private static string Key(string name) => $"{AsgilookOptions.SectionName}:{name}";
}
