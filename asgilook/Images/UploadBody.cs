using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Asgilook.Images;

/// <summary>Why a body was not read whole.</summary>
public enum UploadRefusal
{
    /// <summary>Larger than MaxUploadBytes: 413.</summary>
    TooLarge,

    /// <summary>The upload budget is spent: 503 with Retry-After.</summary>
    OverBudget,

    /// <summary>This client has as many bodies arriving, or as many bytes held, as one client may: 429 with Retry-After.</summary>
    ClientOverBudget,

    /// <summary>The client sent slower than the minimum data rate and was cut off.</summary>
    TooSlow,
}

/// <summary>A whole upload body in memory; disposing it gives its bytes back to the <see cref="UploadBudget"/> and ends the client's body.</summary>
public sealed class UploadBuffer(byte[] bytes, UploadBudget budget, string client, long reserved) : IDisposable
{
    private int _disposed;

    public byte[] Bytes { get; } = bytes;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            budget.End(client, reserved);
        }
    }
}

/// <summary>
/// Reads an upload body as its bytes arrive, into pooled 64 KiB segments, each reserved from the budget
/// (the client's share and the whole) when its first byte has arrived, never before: a connection that sent
/// headers and nothing else holds nothing. Refuses the body as soon as it outgrows the limit, and cuts off a
/// client slower than the minimum data rate.
/// </summary>
internal static class UploadBody
{
    private const int Segment = 64 * 1024;

    public static async Task<(UploadBuffer? Body, UploadRefusal? Refusal)> ReadAsync(
        HttpContext context, long maxBytes, UploadBudget budget, string client, MinDataRate minimumRate, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            return (null, UploadRefusal.TooLarge); // decided from the header, before a byte of the body is read
        }

        if (!budget.TryStart(client))
        {
            return (null, UploadRefusal.ClientOverBudget);
        }

        // This reader enforces the limit itself; Kestrel's own (about 28.6 MB) would cut below it.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrelLimit)
        {
            kestrelLimit.MaxRequestBodySize = null;
        }

        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = minimumRate;
        }

        var segments = new List<byte[]>();
        long total = 0;
        long reserved = 0;
        var handedOver = false;
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken);
                var arrived = read.Buffer;
                if (total + arrived.Length > maxBytes)
                {
                    return (null, UploadRefusal.TooLarge);
                }

                foreach (var memory in arrived)
                {
                    var bytes = memory.Span;
                    while (bytes.Length > 0)
                    {
                        var room = (segments.Count * (long)Segment) - total;
                        if (room == 0)
                        {
                            switch (budget.TryReserve(client, Segment))
                            {
                                case true:
                                    return (null, UploadRefusal.ClientOverBudget);
                                case false:
                                    return (null, UploadRefusal.OverBudget);
                            }

                            reserved += Segment;
                            segments.Add(ArrayPool<byte>.Shared.Rent(Segment));
                            room = Segment;
                        }

                        var count = (int)Math.Min(room, bytes.Length);
                        bytes[..count].CopyTo(segments[^1].AsSpan((int)(total % Segment)));
                        total += count;
                        bytes = bytes[count..];
                    }
                }

                reader.AdvanceTo(arrived.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }

            // One array of the exact size for the conversion; the segments go back to the pool at once.
            var body = GC.AllocateUninitializedArray<byte>((int)total);
            var offset = 0;
            foreach (var segment in segments)
            {
                var count = (int)Math.Min(Segment, total - offset);
                segment.AsSpan(0, count).CopyTo(body.AsSpan(offset));
                offset += count;
            }

            handedOver = true;
            return (new UploadBuffer(body, budget, client, reserved), null);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            return (null, UploadRefusal.TooSlow);
        }
        finally
        {
            foreach (var segment in segments)
            {
                ArrayPool<byte>.Shared.Return(segment);
            }

            if (!handedOver)
            {
                budget.End(client, reserved);
            }
        }
    }
}
