using Microsoft.AspNetCore.Http.Features;

namespace Asgilook.Http;

/// <summary>
/// HEAD is served by the GET endpoints. This discards whatever body they write, so that every host
/// (Kestrel does this itself, a test host does not) answers HEAD with the headers alone, and sets the
/// Content-Length the GET would have had when the endpoint did not.
/// </summary>
internal sealed class HeadRequests(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }

        var body = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var sink = new DiscardingStream();
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(sink, body));
        try
        {
            await next(context);
        }
        finally
        {
            context.Features.Set(body);
        }

        if (!context.Response.HasStarted && context.Response.ContentLength is null && sink.BytesWritten > 0)
        {
            context.Response.ContentLength = sink.BytesWritten;
        }
    }
}
