using System.Text;
using System.Text.Json;
using Asgilook.Images;
using Asgilook.Storage;

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

    /// <summary>The frame of an upload (<c>image</c>, its JSON) or a delete (<c>deleted</c>, its id); null for what a page is not told.</summary>
    public static EventFrame? Of(ImageEvent item, ImageResources resources) => item switch
    {
        ImageUploaded uploaded => Frame("image", JsonSerializer.Serialize(resources.Of(uploaded), Json)),
        ImageDeleted deleted => Frame("deleted", JsonSerializer.Serialize(new DeletedImage(deleted.ImageId.ToString()), Json)),
        _ => null,
    };

    private static EventFrame Frame(string type, string data) => new(Encoding.UTF8.GetBytes($"event: {type}\ndata: {data}\n\n"));

    /// <summary>What a <c>deleted</c> event says: the id, and no more (the image is gone).</summary>
    private sealed record DeletedImage(string Id);
}
