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

    /// <summary>The client sent slower than the minimum data rate and was cut off.</summary>
    TooSlow,
}

/// <summary>A whole upload body in memory; disposing it gives its bytes back to the <see cref="UploadBudget"/>.</summary>
public sealed class UploadBuffer(byte[] bytes, UploadBudget budget, long reserved) : IDisposable
{
    private int _disposed;

    public byte[] Bytes { get; } = bytes;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            budget.Release(reserved);
        }
    }
}

/// <summary>
/// Reads an upload body in pooled 64 KiB segments, reserving each from the budget before reading into
/// it, refusing the body as soon as it outgrows the limit, and cutting off a client slower than the
/// minimum data rate. Nothing is allocated for a body that has not arrived.
/// </summary>
internal static class UploadBody
{
    private const int Segment = 64 * 1024;

    public static async Task<(UploadBuffer? Body, UploadRefusal? Refusal)> ReadAsync(
        HttpContext context, long maxBytes, UploadBudget budget, MinDataRate minimumRate, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            return (null, UploadRefusal.TooLarge); // decided from the header, before a byte of the body is read
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
        try
        {
            while (true)
            {
                if (!budget.TryReserve(Segment))
                {
                    return (null, UploadRefusal.OverBudget);
                }

                reserved += Segment;
                var segment = ArrayPool<byte>.Shared.Rent(Segment);
                segments.Add(segment);
                var filled = 0;
                while (filled < Segment)
                {
                    var read = await request.Body.ReadAsync(segment.AsMemory(filled, Segment - filled), cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                }

                total += filled;
                if (total > maxBytes)
                {
                    return (null, UploadRefusal.TooLarge);
                }

                if (filled < Segment)
                {
                    break;
                }
            }

            // One array of the exact size for the decoder; the segments go back to the pool at once.
            var bytes = GC.AllocateUninitializedArray<byte>((int)total);
            var offset = 0;
            foreach (var segment in segments)
            {
                var count = (int)Math.Min(Segment, total - offset);
                segment.AsSpan(0, count).CopyTo(bytes.AsSpan(offset));
                offset += count;
            }

            handedOver = true;
            return (new UploadBuffer(bytes, budget, reserved), null);
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
                budget.Release(reserved);
            }
        }
    }
}
