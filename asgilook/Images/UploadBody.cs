using Microsoft.AspNetCore.Http.Features;

namespace Asgilook.Images;

/// <summary>Reads an upload body asynchronously, refusing it as soon as it outgrows the limit.</summary>
internal static class UploadBody
{
    /// <summary>The body's bytes, or null when it is larger than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, long maxBytes, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            return null; // decided from the header, before a byte of the body is read
        }

        // This reader enforces the limit itself; Kestrel's own (about 28.6 MB) would cut below it.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrelLimit)
        {
            kestrelLimit.MaxRequestBodySize = null;
        }

        if (request.ContentLength is { } length)
        {
            // The size is announced: read straight into the final array, with no copy.
            var exact = new byte[length];
            var filled = 0;
            while (filled < exact.Length)
            {
                var n = await request.Body.ReadAsync(exact.AsMemory(filled), cancellationToken);
                if (n == 0)
                {
                    return exact[..filled]; // shorter than announced: the decoder will say it is truncated
                }

                filled += n;
            }

            return exact;
        }

        using var body = new MemoryStream(64 * 1024);
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (body.Length + read > maxBytes)
            {
                return null;
            }

            body.Write(buffer, 0, read);
        }

        return body.ToArray();
    }
}
