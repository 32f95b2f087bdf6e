using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Asgilook.Caching;
using Carter;
using Microsoft.AspNetCore.Http.Features;

namespace Asgilook.Events;

/// <summary>
/// <c>GET /events</c>: a Server-Sent Events stream of uploads (<c>image</c>, the image as JSON) and
/// deletes (<c>deleted</c>, its id), so that a page shows new images without reloading.
/// </summary>
public sealed class EventsModule : ICarterModule
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapGet("/events", Listen)
            .WithTags("Events")
            .WithName(nameof(Listen))
            .WithSummary("Uploads and deletes as they happen (Server-Sent Events)")
            .WithDescription("Event 'image' carries an uploaded image as JSON; event 'deleted' carries {\"id\": ...}.")
            .WithMetadata(ExcludeFromResponseCache.Instance);
    }

    internal static async Task Listen(ImageEvents events, HttpContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        // Start now: a browser's EventSource is "open" once the headers arrive, not at the first event,
        // and Kestrel holds started headers until something is flushed.
        await response.StartAsync(cancellationToken);
        await response.Body.WriteAsync(": listening\n\n"u8.ToArray(), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
        var items = events.ListenAsync(cancellationToken).Select(item => new SseItem<ImageEvent>(item, item.Type));
        try
        {
            await SseFormatter.WriteAsync(items, response.Body, Write, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the listener went away
        }
    }

    private static void Write(SseItem<ImageEvent> item, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        if (item.Data is ImageDeleted deleted)
        {
            JsonSerializer.Serialize(writer, new DeletedImage(deleted.Image.Id), Json);
        }
        else
        {
            JsonSerializer.Serialize(writer, item.Data.Image, Json);
        }
    }

    /// <summary>What a <c>deleted</c> event says: the id, and no more (the image is gone).</summary>
    private sealed record DeletedImage(string Id);
}
