using Asgilook.Operations;
using Asgilook.Redis;
using Microsoft.Extensions.Options;

namespace Asgilook.Configuration;

/// <summary>The checks data annotations cannot express, run at startup with the annotations.</summary>
internal sealed class AsgilookOptionsValidator : IValidateOptions<AsgilookOptions>
{
    public ValidateOptionsResult Validate(string? name, AsgilookOptions options)
    {
        var failures = new List<string>();

        if (!string.IsNullOrWhiteSpace(options.StoragePath)
            && options.StoragePath.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"Asgilook:StoragePath '{options.StoragePath}' is not a valid folder path.");
        }

        if (!string.IsNullOrWhiteSpace(options.RedisHost) && !RedisAddress.TryParse(options.RedisHost, out _, out var error))
        {
            failures.Add($"Asgilook:RedisHost (ASGI_LOOK_REDIS_HOST) '{Redaction.RedisHost(options.RedisHost)}' is not usable: {error}");
        }

        if (!string.IsNullOrWhiteSpace(options.Database))
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(options.Database);
            }
            catch (ArgumentException)
            {
                // Its own message can quote the value, password included.
                failures.Add("Asgilook:Database (ASGI_LOOK_DATABASE) is not a PostgreSQL connection string: a setting is unknown or malformed " +
                    "(see https://www.npgsql.org/doc/connection-string-parameters.html).");
            }
        }

        failures.AddRange(KeyFailures("AdminKeys", options.AdminKeys));
        failures.AddRange(KeyFailures("UploadKeys", options.UploadKeys));
        foreach (var proxy in options.TrustedProxies)
        {
            if (!Access.TrustedProxies.TryParse(proxy, out _))
            {
                failures.Add($"Asgilook:TrustedProxies '{proxy}' is neither an IP address nor a CIDR range (such as 10.0.0.0/8).");
            }
        }

        if (options.RateLimits is { UploadsPerMinute: < 0 } or { RendersPerMinute: < 0 })
        {
            failures.Add("Asgilook:RateLimits: UploadsPerMinute and RendersPerMinute are 0 (no limit) or more.");
        }

        failures.AddRange(ManagementPort.Failures(options.ManagementUrls));

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>A key short enough to guess is refused (the message never shows a key, only where it is).</summary>
    private static IEnumerable<string> KeyFailures(string setting, string[] keys)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i].Length < Access.Credentials.MinimumKeyLength)
            {
                yield return $"Asgilook:{setting}:{i} is shorter than {Access.Credentials.MinimumKeyLength} characters; " +
                    "use a long random key, e.g. from `openssl rand -base64 32`.";
            }
        }
    }
}
