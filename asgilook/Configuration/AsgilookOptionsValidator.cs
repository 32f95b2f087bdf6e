using Asgilook.Operations;
using Asgilook.Redis;
using Microsoft.Extensions.Options;

namespace Asgilook.Configuration;

/// <summary>The checks data annotations cannot express, run at startup with the annotations.</summary>
internal sealed partial class AsgilookOptionsValidator : IValidateOptions<AsgilookOptions>
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

        if (options.Quotas is { ImagesPerKey: < 0 } or { MegabytesPerKey: < 0 })
        {
            failures.Add("Asgilook:Quotas: ImagesPerKey and MegabytesPerKey are 0 (no limit) or more.");
        }

        failures.AddRange(ManagementPort.Failures(options.ManagementUrls));
        failures.AddRange(S3Failures(options.S3));
        failures.AddRange(ModerationFailures(options.Moderation));

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>A moderation setting that cannot work (the message never quotes the URL: it may hold a token).</summary>
    private static IEnumerable<string> ModerationFailures(ModerationOptions moderation)
    {
        if (moderation.Configured
            && !(Uri.TryCreate(moderation.Url, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)))
        {
            yield return "Asgilook:Moderation:Url must be the hook's absolute http:// or https:// URL.";
        }

        if (moderation.TimeoutSeconds is not (>= 0.1 and <= 300))
        {
            yield return "Asgilook:Moderation:TimeoutSeconds must be from 0.1 to 300.";
        }

        if (!Enum.IsDefined(moderation.OnFailure))
        {
            yield return "Asgilook:Moderation:OnFailure must be Reject or Accept.";
        }
    }

    /// <summary>An S3 setting that cannot work, said before the first request (the message never shows a key).</summary>
    private static IEnumerable<string> S3Failures(S3Options s3)
    {
        if (s3.Timeout < TimeSpan.FromMilliseconds(100) || s3.Timeout > TimeSpan.FromMinutes(10))
        {
            yield return "Asgilook:S3:Timeout must be from 00:00:00.1 to 00:10:00.";
        }

        if (s3.SweepInterval < TimeSpan.FromSeconds(1) || s3.SweepInterval > TimeSpan.FromDays(7))
        {
            yield return "Asgilook:S3:SweepInterval must be from 00:00:01 to 7.00:00:00.";
        }

        if (s3.ReadCacheMegabytes < 0)
        {
            yield return "Asgilook:S3:ReadCacheMegabytes is 0 (no copies) or more.";
        }

        if (!s3.Configured)
        {
            yield break;
        }

        if (!Uri.TryCreate(s3.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            yield return "Asgilook:S3:Endpoint (ASGI_LOOK_S3_ENDPOINT) must be the server's http:// or https:// URL when a bucket is set.";
        }
        else if (endpoint.UserInfo.Length > 0)
        {
            yield return "Asgilook:S3:Endpoint (ASGI_LOOK_S3_ENDPOINT) must not hold credentials: set ASGI_LOOK_S3_ACCESS_KEY and ASGI_LOOK_S3_SECRET_KEY.";
        }

        if (s3.Bucket is null || !BucketName().IsMatch(s3.Bucket))
        {
            yield return "Asgilook:S3:Bucket (ASGI_LOOK_S3_BUCKET) must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens.";
        }

        if (string.IsNullOrEmpty(s3.AccessKey) != string.IsNullOrEmpty(s3.SecretKey))
        {
            yield return "Asgilook:S3: set both AccessKey and SecretKey (ASGI_LOOK_S3_ACCESS_KEY, ASGI_LOOK_S3_SECRET_KEY), or neither for the SDK's own credentials.";
        }

    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial System.Text.RegularExpressions.Regex BucketName();

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
