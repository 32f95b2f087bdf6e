using System.Diagnostics.CodeAnalysis;
using StackExchange.Redis;

namespace Asgilook.Redis;

/// <summary>
/// Reads the tutorial's <c>ASGI_LOOK_REDIS_HOST</c> form, <c>redis://[[user]:password@]host[:port][/db]</c>
/// (<c>rediss://</c> for TLS), or a StackExchange.Redis configuration string such as <c>localhost:6379</c>.
/// </summary>
public static class RedisAddress
{
    public const int DefaultPort = 6379;

    public static bool TryParse(string value, [NotNullWhen(true)] out ConfigurationOptions? options, [NotNullWhen(false)] out string? error)
    {
        options = null;
        error = null;
        try
        {
            options = value.Contains("://", StringComparison.Ordinal) ? FromUrl(value) : ConfigurationOptions.Parse(value);
            if (options.EndPoints.Count == 0)
            {
                error = "it names no host.";
                options = null;
                return false;
            }

            return true;
        }
        catch (BadAddressException e)
        {
            error = e.Message;
            options = null;
            return false;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // Their own text can quote the value, password included.
            error = "it is neither a redis:// address nor a StackExchange.Redis configuration string.";
            options = null;
            return false;
        }
    }

    private static ConfigurationOptions FromUrl(string value)
    {
        var uri = new Uri(value);
        var tls = uri.Scheme switch
        {
            "redis" => false,
            "rediss" => true,
            _ => throw new BadAddressException($"the scheme must be redis:// or rediss://, not {uri.Scheme}://."),
        };
        if (string.IsNullOrEmpty(uri.Host))
        {
            throw new BadAddressException("it names no host.");
        }

        var options = new ConfigurationOptions { Ssl = tls };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port);

        var database = uri.AbsolutePath.Trim('/');
        if (database.Length > 0)
        {
            options.DefaultDatabase = int.TryParse(database, out var number) && number >= 0
                ? number
                : throw new BadAddressException($"the path must be a database number, not '{database}'.");
        }

        if (uri.UserInfo.Length > 0)
        {
            var separator = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(separator < 0 ? uri.UserInfo : uri.UserInfo[..separator]);
            var password = separator < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(separator + 1)..]);
            if (password is null)
            {
                // redis://secret@host: a lone user-info part is the password, as in redis-py.
                options.Password = user;
            }
            else
            {
                options.User = user.Length > 0 ? user : null;
                options.Password = password;
            }
        }

        return options;
    }

    /// <summary>What is wrong with an address, in words that never quote its secrets.</summary>
    private sealed class BadAddressException(string message) : FormatException(message);
}
