using Asgilook.Caching;
using Asgilook.Configuration;
using Asgilook.Http;
using Asgilook.RateLimiting;
using Carter;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Asgilook.Events;

/// <summary>
/// <c>GET /events</c>: a Server-Sent Events stream of uploads (<c>image</c>, the image as JSON) and
/// deletes (<c>deleted</c>, its id), so that a page shows new images without reloading. An idle stream
/// gets a <c>: ping</c> comment every <c>EventsKeepAlive</c>.
/// </summary>
public sealed class EventsModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapGet("/events", Listen)
            .WithTags("Events")
            .WithName(nameof(Listen))
            .WithSummary("Uploads and deletes as they happen (Server-Sent Events)")
            .WithDescription("Event 'image' carries an uploaded image as JSON; event 'deleted' carries {\"id\": ...}; ': ping' comments keep " +
                "an idle stream alive. 429 with Retry-After when this client has MaxEventListenersPerClient streams open, 503 when the " +
                "instance has MaxEventListeners.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    internal static async Task<Results<EmptyHttpResult, ProblemHttpResult>> Listen(
        ImageEvents events, IOptions<AsgilookOptions> options, HttpContext context, CancellationToken cancellationToken)
    {
        var (listener, refusal) = events.TryListen(RateLimits.ClientOf(context, uploadKeyId: null));
        if (listener is null)
        {
            context.Response.Headers.RetryAfter = "10";
            return refusal is ListenRefusal.TooManyForClient
                ? Problems.TooManyListenersForClient(options.Value.MaxEventListenersPerClient)
                : Problems.TooManyListeners();
        }

        using (listener)
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-store";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            try
            {
                // Start now: a browser's EventSource is "open" once the headers arrive, not at the first event,
                // and Kestrel holds started headers until something is flushed.
                await response.StartAsync(cancellationToken);
                await response.Body.WriteAsync(": listening\n\n"u8.ToArray(), cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
                await StreamAsync(listener, response.Body, options.Value.EventsKeepAlive, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // the listener went away
            }
        }

        return TypedResults.Empty;
    }

    private static async Task StreamAsync(ImageEvents.Listener listener, Stream body, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        var frames = listener.Reader;
        while (true)
        {
            var next = frames.WaitToReadAsync(cancellationToken).AsTask();
            while (await Task.WhenAny(next, Task.Delay(keepAlive, cancellationToken)) != next)
            {
                await body.WriteAsync(EventFrame.Ping, cancellationToken);
                await body.FlushAsync(cancellationToken);
            }

            if (!await next)
            {
                return;
            }

            while (frames.TryRead(out var frame))
            {
                await body.WriteAsync(frame.Bytes, cancellationToken);
            }

            await body.FlushAsync(cancellationToken);
        }
    }
}
