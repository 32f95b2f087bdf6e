using System.Buffers;
using MessagePack;

namespace Asgilook.Caching;

/// <summary>
/// A cached response as the tutorial stores it: the MessagePack array <c>[content_type, body]</c>,
/// a str and a bin (msgpack's <c>use_bin_type=True</c>), so a Python instance could read it too.
/// </summary>
public sealed record CachedResponse(string ContentType, byte[] Body)
{
    public byte[] Serialize()
    {
        var buffer = new ArrayBufferWriter<byte>(Body.Length + ContentType.Length + 16);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write(ContentType);
        writer.Write(Body);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="MessagePackSerializationException">The bytes are not a cached response.</exception>
    public static CachedResponse Deserialize(byte[] data)
    {
        var reader = new MessagePackReader(data);
        if (reader.ReadArrayHeader() != 2)
        {
            throw new MessagePackSerializationException("A cached response is an array of two items.");
        }

        var contentType = reader.ReadString()
            ?? throw new MessagePackSerializationException("A cached response needs a content type.");
        var body = reader.ReadBytes()?.ToArray() ?? [];
        return new CachedResponse(contentType, body);
    }
}
