using System.Security.Cryptography;
using System.Text;
using Asgilook.Configuration;
using Asgilook.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Asgilook.Access;

/// <summary>Whether a request may delete an image.</summary>
public enum DeleteAccess
{
    /// <summary>It presents the image's delete token, its uploader's key, or an admin key.</summary>
    Allowed,

    /// <summary>It presents no credential at all: 401, with a challenge.</summary>
    NoCredential,

    /// <summary>It presents a credential that is none of those: 403.</summary>
    Denied,
}

/// <summary>
/// The bearer credentials Asgilook knows: admin keys (delete anything), upload keys (upload, and delete
/// what was uploaded with them) and each image's delete token. Only SHA-256 hashes are kept or
/// stored, and they are compared in constant time.
/// </summary>
public sealed class Credentials
{
    public const int MinimumKeyLength = 16;

    /// <summary>The challenge a 401 carries (RFC 6750).</summary>
    public const string Challenge = "Bearer realm=\"asgilook\"";

    private readonly byte[][] _adminKeys;
    private readonly byte[][] _uploadKeys;

    public Credentials(IOptions<AsgilookOptions> options)
    {
        _adminKeys = [.. options.Value.AdminKeys.Select(HashBytes)];
        _uploadKeys = [.. options.Value.UploadKeys.Select(HashBytes)];
    }

    /// <summary>Whether uploading needs an upload key (when any is configured).</summary>
    public bool UploadsNeedKey => _uploadKeys.Length > 0;

    /// <summary>The request's <c>Authorization: Bearer</c> credential; null when it has none.</summary>
    public static string? BearerOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? header[scheme.Length..].Trim()
            : null;
    }

    /// <summary>The SHA-256 of a secret as lowercase hex: what is stored of a delete token or an owner's key.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(HashBytes(secret));

    /// <summary>The hash of the credential when it is a listed upload key (the uploader's id); null otherwise.</summary>
    public string? UploadKeyId(string? credential)
    {
        if (credential is null)
        {
            return null;
        }

        var hash = HashBytes(credential);
        return AnyEquals(_uploadKeys, hash) ? Convert.ToHexStringLower(hash) : null;
    }

    public DeleteAccess MayDelete(StoredImage image, string? credential)
    {
        if (credential is null)
        {
            return DeleteAccess.NoCredential;
        }

        var hash = HashBytes(credential);
        var allowed = AnyEquals(_adminKeys, hash);
        allowed |= image.DeleteTokenHash is { } token && FixedTimeEquals(token, hash);
        // An uploader's key deletes its images only while it is still an upload key: removing it from the list revokes both halves.
        allowed |= image.OwnerKeyId is { } owner && FixedTimeEquals(owner, hash) && AnyEquals(_uploadKeys, hash);
        return allowed ? DeleteAccess.Allowed : DeleteAccess.Denied;
    }

    /// <summary>Whether the credential is an admin key (compared in constant time, against every key).</summary>
    public bool IsAdmin(string? credential) => credential is not null && AnyEquals(_adminKeys, HashBytes(credential));

    /// <summary>Sets the 401's challenge.</summary>
    public static void ChallengeOn(HttpResponse response) => response.Headers[HeaderNames.WWWAuthenticate] = Challenge;

    private static byte[] HashBytes(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Compares against every key, without stopping at the first match.</summary>
    private static bool AnyEquals(byte[][] keys, byte[] hash)
    {
        var found = false;
        foreach (var key in keys)
        {
            found |= CryptographicOperations.FixedTimeEquals(key, hash);
        }

        return found;
    }

    private static bool FixedTimeEquals(string storedHex, byte[] hash)
    {
        Span<byte> stored = stackalloc byte[SHA256.HashSizeInBytes];
        return Convert.FromHexString(storedHex, stored, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == stored.Length
            && CryptographicOperations.FixedTimeEquals(stored, hash);
    }
}
