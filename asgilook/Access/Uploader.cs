using System.Reflection;
using Asgilook.RateLimiting;

namespace Asgilook.Access;

/// <summary>
/// Who sends an upload, read from its headers before its body: the upload key it presents (by id: the key's hash), if
/// it is one this service knows, and the client its budgets are counted for (<see cref="RateLimits.ClientOf"/>).
/// Bound as the upload handler's parameter; <see cref="UploadKeyFilter"/> refuses an upload without a key when keys are required.
/// </summary>
/// <param name="Presented">Whether the request carried a bearer credential at all (known or not).</param>
public sealed record Uploader(string? KeyId, string Client, bool Presented)
{
    public static ValueTask<Uploader?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        var credential = Credentials.BearerOf(context.Request);
        var keyId = context.RequestServices.GetRequiredService<Credentials>().UploadKeyId(credential);
        return ValueTask.FromResult<Uploader?>(new Uploader(keyId, RateLimits.ClientOf(context, keyId), credential is not null));
    }
}
