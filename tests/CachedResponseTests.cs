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
    public void ValidatorsRideInAThirdItem()
    {
        var modified = new DateTimeOffset(2026, 11, 23, 1, 2, 3, TimeSpan.Zero);
        var response = new CachedResponse("image/jpeg", [1], "\"abc\"", modified, "public, max-age=60");

        var bytes = response.Serialize();

        Assert.Equal(3, MessagePackSerializer.Deserialize<object[]>(bytes).Length);
        Assert.Equal(response with { Body = [] }, CachedResponse.Deserialize(bytes) with { Body = [] });
        Assert.Equal([1], CachedResponse.Deserialize(bytes).Body);
    }

    [Fact]
    public void UnknownValidatorsAreIgnored()
    {
        var bytes = MessagePackSerializer.Serialize(new object[] { "text/plain", new byte[] { 7 }, new Dictionary<string, string> { ["X-Future"] = "1", ["ETag"] = "\"e\"" } });

        var decoded = CachedResponse.Deserialize(bytes);

        Assert.Equal(("text/plain", "\"e\"", (DateTimeOffset?)null), (decoded.ContentType, decoded.ETag, decoded.LastModified));
    }

    [Fact]
    public void EmptyBodyRoundTrips() =>
        Assert.Empty(CachedResponse.Deserialize(new CachedResponse("application/json", []).Serialize()).Body);

    [Fact]
    public void OtherShapesAreRefused()
    {
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(MessagePackSerializer.Serialize(new object[] { "a", new byte[1], 3 })));
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(MessagePackSerializer.Serialize(new object[] { "a", new byte[1], new Dictionary<string, string>(), 4 })));
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(MessagePackSerializer.Serialize(new object[] { "a" })));
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(MessagePackSerializer.Serialize(new object?[] { null, new byte[1] })));
        Assert.Throws<MessagePackSerializationException>(() => CachedResponse.Deserialize(Encoding.ASCII.GetBytes("not messagepack")));
    }

    [Theory]
    [InlineData(".jpg", "image/jpeg")]
    [InlineData(".webp", "image/webp")]
    [InlineData(".avif", "image/avif")]
    public void AWholeImageIsWellFormedAndATornOrDoubledOneIsNot(string format, string contentType)
    {
        var image = TestImages.RandomEllipses(64, 48, format);
        Assert.True(new CachedResponse(contentType, image).IsWellFormed());
        Assert.False(new CachedResponse(contentType, image[..^7]).IsWellFormed());
        Assert.False(new CachedResponse(contentType, [.. image[..100], .. image]).IsWellFormed());
        Assert.False(new CachedResponse(contentType, []).IsWellFormed());
    }

    [Theory]
    [InlineData("[1,2,3]", true)]
    [InlineData("{\"a\":[1]}", true)]
    [InlineData("[1,2,", false)]
    [InlineData("[1,2][3]", false)]
    [InlineData("", false)]
    [InlineData("[1,2]   x", false)]
    public void JsonIsWellFormedOnlyAsOneWholeValue(string body, bool wellFormed) =>
        Assert.Equal(wellFormed, new CachedResponse("application/json; charset=utf-8", Encoding.UTF8.GetBytes(body)).IsWellFormed());

    [Fact]
    public void AContentTypeAsgilookNeverCachesIsNotWellFormed() =>
        Assert.False(new CachedResponse("text/html", "<p>x</p>"u8.ToArray()).IsWellFormed());
}
