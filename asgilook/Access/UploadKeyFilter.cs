using Asgilook.Http;

namespace Asgilook.Access;

/// <summary>
/// At the upload route's edge: when upload keys are configured, an upload without one is answered 401 (with the Bearer
/// challenge) before its handler runs, so that not a byte of its body is read.
/// </summary>
public sealed class UploadKeyFilter(Credentials credentials) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var uploader = context.Arguments.OfType<Uploader>().Single();
        if (credentials.UploadsNeedKey && uploader.KeyId is null)
        {
            Credentials.ChallengeOn(context.HttpContext.Response);
            return Problems.UploadKeyMissing(uploader.Presented);
        }

        return await next(context);
    }
}
