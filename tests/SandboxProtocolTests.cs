using System.Buffers.Binary;
using Asgilook.Imaging;
using Asgilook.Sandbox;

namespace Asgilook.Tests;

/// <summary>
/// The pipe between the server and a conversion worker, read as the server reads it: a worker taken over by a
/// hostile file may write anything, and nothing it writes may make the server allocate past a bound or believe a
/// reply the protocol does not allow.
/// </summary>
public sealed class SandboxProtocolTests
{
    private static readonly Placeholder SomePlaceholder = new("data:image/webp;base64,AAAA", "#123456");

    [Fact]
    public void AReplyRoundTripsAndAJobToo()
    {
        using var pipe = new MemoryStream();
        var jpeg = TestImages.RandomEllipses(64, 48, ".jpg");
        SandboxProtocol.WriteReply(pipe, new WorkerConverted(new ConvertedImage(jpeg, 64, 48), SomePlaceholder));
        SandboxProtocol.WriteReply(pipe, new WorkerConverted(new ConvertedImage(jpeg, 64, 48, new Animation([7, 8, 9], 3)), SomePlaceholder));
        SandboxProtocol.WriteReply(pipe, new WorkerRefused(Rejection.UnsupportedFormat, "The body is a QOI file."));
        SandboxProtocol.WriteJob(pipe, [1, 2, 3]);
        pipe.Position = 0;

        var converted = Assert.IsType<WorkerConverted>(SandboxProtocol.ReadReply(pipe, maxJpegBytes: jpeg.Length));
        Assert.Equal(jpeg, converted.Image.Jpeg);
        Assert.Equal((64, 48, SomePlaceholder, null), (converted.Image.Width, converted.Image.Height, converted.Placeholder, converted.Image.Animation));
        var animated = Assert.IsType<WorkerConverted>(SandboxProtocol.ReadReply(pipe, maxJpegBytes: jpeg.Length));
        Assert.Equal(jpeg, animated.Image.Jpeg);
        Assert.Equal(3, animated.Image.Animation!.Frames);
        Assert.Equal([7, 8, 9], animated.Image.Animation.Webp);
        var refused = Assert.IsType<WorkerRefused>(SandboxProtocol.ReadReply(pipe, maxJpegBytes: 1));
        Assert.Equal((Rejection.UnsupportedFormat, "The body is a QOI file."), (refused.Reason, refused.Message));
        Assert.Equal([1, 2, 3], SandboxProtocol.ReadJob(pipe, maxBytes: 3));
        Assert.Null(SandboxProtocol.ReadJob(pipe, maxBytes: 3)); // the server closed the pipe: the worker exits
    }

    [Fact]
    public void AJpegLargerThanAllowedIsRefusedBeforeAnythingIsAllocated()
    {
        using var pipe = new MemoryStream();
        SandboxProtocol.WriteReply(pipe, new WorkerConverted(new ConvertedImage(new byte[100], 10, 10), SomePlaceholder));
        pipe.Position = 0;

        Assert.Throws<ProtocolViolationException>(() => SandboxProtocol.ReadReply(pipe, maxJpegBytes: 99));
    }

    public static TheoryData<string, byte[]> HostileReplies() => new()
    {
        { "another magic", [.. Magic(0xDEADBEEF), 1] },
        { "an unknown kind", [.. Magic(0x314C5052), 9] },
        { "an unknown rejection", [.. Magic(0x314C5052), 2, .. Int(999), .. Int(0)] },
        { "a text of 2 GB", [.. Magic(0x314C5052), 2, .. Int(0), .. Int(int.MaxValue)] },
        { "a negative text", [.. Magic(0x314C5052), 2, .. Int(0), .. Int(-5)] },
        { "a size of zero", [.. Magic(0x314C5052), 1, .. Int(0), .. Int(10), .. Int(0), .. Int(0), .. Int(10), .. Int(0), .. Int(0)] },
        { "a negative JPEG length", [.. Magic(0x314C5052), 1, .. Int(10), .. Int(10), .. Int(0), .. Int(0), .. Int(-1), .. Int(0), .. Int(0)] },
        { "an animation of one frame", [.. Magic(0x314C5052), 1, .. Int(10), .. Int(10), .. Int(0), .. Int(0), .. Int(10), .. Int(1), .. Int(10)] },
        { "frames without an animation", [.. Magic(0x314C5052), 1, .. Int(10), .. Int(10), .. Int(0), .. Int(0), .. Int(10), .. Int(5), .. Int(0)] },
        { "an animation without frames", [.. Magic(0x314C5052), 1, .. Int(10), .. Int(10), .. Int(0), .. Int(0), .. Int(10), .. Int(0), .. Int(10)] },
        { "an animation of 2 GB", [.. Magic(0x314C5052), 1, .. Int(10), .. Int(10), .. Int(0), .. Int(0), .. Int(10), .. Int(5), .. Int(int.MaxValue)] },
        { "negative frames", [.. Magic(0x314C5052), 1, .. Int(10), .. Int(10), .. Int(0), .. Int(0), .. Int(10), .. Int(-3), .. Int(10)] },
    };

    [Theory]
    [MemberData(nameof(HostileReplies))]
    public void AReplyTheProtocolDoesNotAllowIsAViolation(string what, byte[] frame)
    {
        using var pipe = new MemoryStream(frame);
        var failure = Record.Exception(() => SandboxProtocol.ReadReply(pipe, maxJpegBytes: 1 << 20));
        Assert.True(failure is ProtocolViolationException, $"{what}: {failure?.GetType().Name ?? "accepted"}");
    }

    [Fact]
    public void AReplyCutShortIsAnEndOfStream()
    {
        using var pipe = new MemoryStream([.. Magic(0x314C5052), 1, 10, 0]);
        Assert.Throws<EndOfStreamException>(() => SandboxProtocol.ReadReply(pipe, maxJpegBytes: 1 << 20));
    }

    [Fact]
    public void AJobFrameThatIsNotOneIsAViolation()
    {
        using var wrongMagic = new MemoryStream([.. Magic(1), .. Int(1), 0]);
        Assert.Throws<ProtocolViolationException>(() => SandboxProtocol.ReadJob(wrongMagic, maxBytes: 10));
        using var tooLarge = new MemoryStream([.. Magic(0x31424F4A), .. Int(11)]);
        Assert.Throws<ProtocolViolationException>(() => SandboxProtocol.ReadJob(tooLarge, maxBytes: 10));
        using var notReady = new MemoryStream(Magic(2));
        Assert.Throws<ProtocolViolationException>(() => SandboxProtocol.ReadReady(notReady));
    }

    [Fact]
    public void ALongTextIsCutToTheBound()
    {
        using var pipe = new MemoryStream();
        SandboxProtocol.WriteReply(pipe, new WorkerRefused(Rejection.Unreadable, new string('é', SandboxProtocol.MaxTextBytes)));
        pipe.Position = 0;
        var refused = Assert.IsType<WorkerRefused>(SandboxProtocol.ReadReply(pipe, maxJpegBytes: 1));
        Assert.Equal(SandboxProtocol.MaxTextBytes / 4, refused.Message.Length);
    }

    private static byte[] Magic(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Int(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return bytes;
    }
}
