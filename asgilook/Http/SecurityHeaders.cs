namespace Asgilook.Http;

/// <summary>
/// On every answer: <c>X-Content-Type-Options: nosniff</c> (a browser never takes a JSON problem or an
/// image for a page to run) and <c>Referrer-Policy: no-referrer</c> (image URLs never leak to other sites).
/// Set as the answer starts, so that an exception handler clearing the headers does not lose them.
/// </summary>
internal sealed class SecurityHeaders(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }
}
