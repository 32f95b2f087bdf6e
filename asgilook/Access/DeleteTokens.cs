using System.Buffers.Text;
using System.Security.Cryptography;

namespace Asgilook.Access;

/// <summary>A new image's delete token: shown once, in the upload's answer; only its hash is stored.</summary>
public readonly record struct DeleteToken(string Value, string Hash)
{
    /// <summary>256 random bits, URL-safe (base64url, no padding): 43 characters.</summary>
    public static DeleteToken New()
    {
        var value = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return new DeleteToken(value, Credentials.Hash(value));
    }

    /// <summary>Never the token itself, should the record be logged.</summary>
    public override string ToString() => "DeleteToken(***)";
}
