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
            failures.Add($"Asgilook:RedisHost (ASGI_LOOK_REDIS_HOST) '{options.RedisHost}' is not usable: {error}");
        }

        if (!string.IsNullOrWhiteSpace(options.Database))
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(options.Database);
            }
            catch (ArgumentException e)
            {
                failures.Add($"Asgilook:Database (ASGI_LOOK_DATABASE) is not a PostgreSQL connection string: {e.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
