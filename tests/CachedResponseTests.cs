using System.Text;
using Asgilook.Caching;
using MessagePack;

namespace Asgilook.Tests;

public sealed class CachedResponseTests
{
    // Python: msgpack.packb(['image/jpeg', b'\x01\x02\x03'], use_bin_type=True), as the tutorial stores it.
    private static readonly byte[] TutorialBytes =
        [0x92, 0xaa, .. Encoding.ASCII.GetBytes("image/jpeg"), 0xc4, 0x03, 0x01, 0x02, 0x03];

    [Fact]
    public void RoundTrip()
    {
        var body = TestImages.RandomEllipses(64, 64, ".jpg");
        var response = new CachedResponse("image/jpeg", body);

        var decoded = CachedResponse.Deserialize(response.Serialize());

        Assert.Equal("image/jpeg", decoded.ContentType);
        Assert.Equal(body, decoded.Body);
    }

    [Fact]
    public void WireFormatIsThePythonTutorials()
    {
        Assert.Equal(TutorialBytes, new CachedResponse("image/jpeg", [1, 2, 3]).Serialize());

        var decoded = CachedResponse.Deserialize(TutorialBytes);
        Assert.Equal("image/jpeg", decoded.ContentType);
        Assert.Equal([1, 2, 3], decoded.Body);
    }

    [Fact]
    public void EmptyBodyRoundTrips() =>
        Assert.Empty(CachedResponse.Deserialize(new CachedResponse("application/json", []).Serialize()).Body);

    [Fact]
    public void OtherShapesAreRefused()
    {
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(MessagePackSerializer.Serialize(new object[] { "a", new byte[1], 3 })));
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(MessagePackSerializer.Serialize(new object?[] { null, new byte[1] })));
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(Encoding.ASCII.GetBytes("not messagepack")));
    }
}
