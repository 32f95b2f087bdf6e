using System.Text;
using System.Text.Json;

namespace Asgilook.Events;

/// <summary>
/// An event as <c>GET /events</c> sends it (<c>event: image</c>, <c>data: {...}</c>), serialised once
/// however many streams it goes to.
/// </summary>
public sealed class EventFrame
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private EventFrame(byte[] bytes) => Bytes = bytes;

    /// <summary>The comment sent on an idle stream, so that a dead peer is noticed and proxies keep it open.</summary>
    public static ReadOnlyMemory<byte> Ping { get; } = ": ping\n\n"u8.ToArray();

    public byte[] Bytes { get; }

    public static EventFrame Of(ImageEvent item)
    {
        var data = item is ImageDeleted deleted
            ? JsonSerializer.Serialize(new DeletedImage(deleted.Image.Id), Json)
            : JsonSerializer.Serialize(item.Image, Json);
        return new EventFrame(Encoding.UTF8.GetBytes($"event: {item.Type}\ndata: {data}\n\n"));
    }

    /// <summary>What a <c>deleted</c> event says: the id, and no more (the image is gone).</summary>
    private sealed record DeletedImage(string Id);
}
