using System.Buffers.Binary;
using System.Text;
using Asgilook.Imaging;

namespace Asgilook.Sandbox;

/// <summary>What a conversion worker answered about one upload.</summary>
internal abstract record WorkerReply;

/// <summary>The upload converted: the JPEG, its size, its animation if any, and its placeholder (the server hashes them itself).</summary>
internal sealed record WorkerConverted(ConvertedImage Image, Placeholder Placeholder) : WorkerReply;

/// <summary>The upload refused, with the reason and the message for the client.</summary>
internal sealed record WorkerRefused(Rejection Reason, string Message) : WorkerReply;

/// <summary>
/// The frames on the pipes between the server and a conversion worker: the worker says it is ready, then
/// for each job the server writes the upload's bytes and the worker answers one reply. Everything is
/// length-prefixed and little-endian. The server reads a worker's frames as it reads any untrusted input:
/// a worker that was taken over by a hostile file may write anything, so every length is bounded before
/// anything is allocated, and a frame that breaks the rules ends the worker.
/// </summary>
internal static class SandboxProtocol
{
    private const uint ReadyMagic = 0x59444552; // "REDY"
    private const uint JobMagic = 0x31424F4A; // "JOB1"
    private const uint ReplyMagic = 0x314C5052; // "RPL1"
    private const byte ConvertedKind = 1;
    private const byte RefusedKind = 2;

    /// <summary>The longest text a worker may send (a placeholder's data URI, a refusal's message).</summary>
    public const int MaxTextBytes = 4096;

    public static void WriteReady(Stream output)
    {
        Span<byte> frame = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, ReadyMagic);
        output.Write(frame);
        output.Flush();
    }

    /// <summary>Reads the worker's ready frame.</summary>
    /// <exception cref="ProtocolViolationException">It wrote something else.</exception>
    public static void ReadReady(Stream input)
    {
        if (ReadUInt32(input) != ReadyMagic)
        {
            throw new ProtocolViolationException("not a ready frame");
        }
    }

    public static void WriteJob(Stream output, byte[] upload)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, JobMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], upload.Length);
        output.Write(header);
        output.Write(upload);
        output.Flush();
    }

    /// <summary>The next job's upload; null when the server closed the pipe (the worker then exits).</summary>
    public static byte[]? ReadJob(Stream input, int maxBytes)
    {
        Span<byte> header = stackalloc byte[8];
        if (!TryReadExactly(input, header))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != JobMagic || length < 0 || length > maxBytes)
        {
            throw new ProtocolViolationException("not a job frame");
        }

        var upload = GC.AllocateUninitializedArray<byte>(length);
        input.ReadExactly(upload);
        return upload;
    }

    public static void WriteReply(Stream output, WorkerReply reply)
    {
        using var frame = new MemoryStream();
        using (var writer = new BinaryWriter(frame, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(ReplyMagic);
            switch (reply)
            {
                case WorkerConverted converted:
                    writer.Write(ConvertedKind);
                    writer.Write(converted.Image.Width);
                    writer.Write(converted.Image.Height);
                    WriteText(writer, converted.Placeholder.Preview);
                    WriteText(writer, converted.Placeholder.Colour);
                    writer.Write(converted.Image.Jpeg.Length);
                    writer.Write(converted.Image.Animation?.Frames ?? 0);
                    writer.Write(converted.Image.Animation?.Webp.Length ?? 0);
                    break;
                case WorkerRefused refused:
                    writer.Write(RefusedKind);
                    writer.Write((int)refused.Reason);
                    WriteText(writer, refused.Message);
                    break;
            }
        }

        output.Write(frame.GetBuffer().AsSpan(0, (int)frame.Length));
        if (reply is WorkerConverted { Image: var image })
        {
            output.Write(image.Jpeg);
            output.Write(image.Animation?.Webp ?? []);
        }

        output.Flush();
    }

    /// <summary>Reads one reply, holding the worker to every bound.</summary>
    /// <param name="maxJpegBytes">The largest JPEG (and the largest animation) a worker may answer.</param>
    /// <exception cref="ProtocolViolationException">The worker broke the protocol.</exception>
    /// <exception cref="EndOfStreamException">The worker is gone.</exception>
    public static WorkerReply ReadReply(Stream input, int maxJpegBytes)
    {
        if (ReadUInt32(input) != ReplyMagic)
        {
            throw new ProtocolViolationException("not a reply frame");
        }

        var kind = ReadByte(input);
        switch (kind)
        {
            case ConvertedKind:
            {
                var width = ReadInt32(input);
                var height = ReadInt32(input);
                var preview = ReadText(input);
                var colour = ReadText(input);
                var length = ReadInt32(input);
                var frames = ReadInt32(input);
                var animationLength = ReadInt32(input);
                if (width <= 0 || height <= 0 || length <= 0 || length > maxJpegBytes
                    || frames is < 0 or 1 || (frames == 0) != (animationLength == 0) || animationLength < 0 || animationLength > maxJpegBytes)
                {
                    throw new ProtocolViolationException("a converted reply out of bounds");
                }

                var jpeg = GC.AllocateUninitializedArray<byte>(length);
                input.ReadExactly(jpeg);
                Animation? animation = null;
                if (frames > 0)
                {
                    var webp = GC.AllocateUninitializedArray<byte>(animationLength);
                    input.ReadExactly(webp);
                    animation = new Animation(webp, frames);
                }

                return new WorkerConverted(new ConvertedImage(jpeg, width, height, animation), new Placeholder(preview, colour));
            }

            case RefusedKind:
            {
                var reason = ReadInt32(input);
                if (!Enum.IsDefined((Rejection)reason))
                {
                    throw new ProtocolViolationException("an unknown rejection");
                }

                return new WorkerRefused((Rejection)reason, ReadText(input));
            }

            default:
                throw new ProtocolViolationException("an unknown reply");
        }
    }

    private static void WriteText(BinaryWriter writer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > MaxTextBytes)
        {
            bytes = Encoding.UTF8.GetBytes(text[..(MaxTextBytes / 4)]);
        }

        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static string ReadText(Stream input)
    {
        var length = ReadInt32(input);
        if (length is < 0 or > MaxTextBytes)
        {
            throw new ProtocolViolationException("a text out of bounds");
        }

        var bytes = new byte[length];
        input.ReadExactly(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    private static uint ReadUInt32(Stream input)
    {
        Span<byte> bytes = stackalloc byte[4];
        input.ReadExactly(bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    private static int ReadInt32(Stream input) => (int)ReadUInt32(input);

    private static byte ReadByte(Stream input)
    {
        Span<byte> bytes = stackalloc byte[1];
        input.ReadExactly(bytes);
        return bytes[0];
    }

    /// <summary>False when the stream ends before the first byte; an end after it is a broken frame.</summary>
    private static bool TryReadExactly(Stream input, Span<byte> buffer)
    {
        var read = input.Read(buffer);
        if (read == 0)
        {
            return false;
        }

        input.ReadExactly(buffer[read..]);
        return true;
    }
}

/// <summary>A worker wrote something the protocol does not allow: it is ended, and the upload refused.</summary>
internal sealed class ProtocolViolationException(string what) : Exception($"The conversion worker broke the protocol: {what}.");
