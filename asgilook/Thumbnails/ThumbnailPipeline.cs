using System.Collections.Concurrent;
using System.Diagnostics;
using Asgilook.Caching;
using Asgilook.Configuration;
using Asgilook.Http;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.RateLimiting;
using Asgilook.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Asgilook.Thumbnails;

/// <summary>What a thumbnail URL asks for: <c>/thumbnails/{id}/{width}x{height}.{format}</c>.</summary>
public readonly record struct ThumbnailRequest(Guid Id, int Width, int Height, string Format);

/// <summary>
/// How a thumbnail is answered, top to bottom: from the cache (this process's memory tier, then Redis or the in-process
/// store), else from the render kept beside the image (a file, answered as one, then promoted to the cache), else
/// rendered (once, however many ask at the same time, in any instance: <see cref="CacheFill"/>), kept and cached.
/// Only the sizes an image advertises get past the catalog; only a render is charged to the client's render budget.
/// </summary>
public sealed class ThumbnailPipeline(
    ImageStore store, ThumbnailRenderer renderer, ResponseCache cache, CacheFill fill, RateLimits rateLimits,
    IOptions<AsgilookOptions> options, AsgilookMetrics metrics)
{
    /// <summary>Thumbnails are immutable for their URL: kept in memory in front of Redis until their image is deleted.</summary>
    private const MemoryTierPolicy InMemory = MemoryTierPolicy.UntilInvalidated;

    private readonly ConcurrentDictionary<string, byte> _promoting = new(StringComparer.Ordinal);

    public async Task<IResult> AnswerAsync(HttpContext context, ThumbnailRequest asked)
    {
        var (request, response) = (context.Request, context.Response);

        // 1. The cache, for a URL that can be one of this server's thumbnails (its own URI: lowercase uuid, the format's
        // extension): no catalog read on a hit.
        var askedFormat = ThumbnailFormats.FromExtension(asked.Format);
        var canonical = askedFormat is { } known && request.Path.Value == ThumbnailSeries.Uri(asked.Id, asked.Width, asked.Height, known);
        CacheKey key = new(ResponseCache.KeyFor(request.Path), ResponseCache.ImageTag(asked.Id));
        var lookup = CacheLookup.Unavailable;
        if (canonical)
        {
            var looking = Stopwatch.StartNew();
            lookup = await cache.LookupAsync(key, InMemory);
            metrics.CacheLookup(lookup.Outcome);
            ServerTiming.Append(response, "cache", looking.Elapsed, lookup.Outcome);
            if (lookup.Hit is { } hit)
            {
                return new CachedAnswer(hit, CachedAnswer.Hit);
            }

            response.Headers[CachedAnswer.CacheHeader] = CachedAnswer.Miss;
        }

        // 2. The catalog: the image, and the sizes and formats it advertises.
        var image = await store.GetAsync(asked.Id, context.RequestAborted);
        if (image is null)
        {
            return Problems.ImageNotFound(asked.Id);
        }

        if (askedFormat is not { } format || !renderer.Formats.Contains(format))
        {
            return Problems.ThumbnailFormatNotOffered(asked.Id, asked.Format);
        }

        // snippet: guard
        // Like the tutorial, accept only the exact URIs listed in the image's thumbnails.
        var listed = ThumbnailSeries.Contains(image.Width, image.Height, ThumbnailLadder.Of(options.Value), (asked.Width, asked.Height));
        if (!listed || !canonical)
        {
            return Problems.ThumbnailSizeNotOffered(asked.Id, asked.Width, asked.Height);
        }
        // end snippet

        // 3. Validators: the ETag is known before rendering, so a revalidation costs no image work at all.
        var thumbnail = renderer.Describe(image, asked.Width, asked.Height, format);
        if (ConditionalRequest.IsNotModified(request, thumbnail.ETag, image.Modified))
        {
            ConditionalRequest.SetValidators(response, thumbnail.ETag, image.Modified, ConditionalRequest.Immutable);
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        // 4. The kept render: a file (or an object), streamed (no lock: reads do not need one), then put in the cache.
        var opening = Stopwatch.StartNew();
        if (await renderer.OpenKeptAsync(thumbnail, context.RequestAborted) is { } kept)
        {
            ServerTiming.Append(response, "kept", opening.Elapsed, "open the kept render");
            response.Headers.CacheControl = ConditionalRequest.Immutable;
            PromoteAfterwards(context, key, lookup, thumbnail, WholeBuffer(kept));
            return TypedResults.File(kept, thumbnail.MediaType, lastModified: image.Modified, entityTag: EntityTagHeaderValue.Parse(thumbnail.ETag));
        }

        // 5. The render: once for everyone asking now, charged to the client that renders it.
        RateLimitDecision? refused = null;
        var (entry, renderedHere) = await fill.GetOrProduceAsync(context, key, lookup, async miss =>
        {
            if (await rateLimits.TakeAsync(context, rateLimits.Renders, pixels: thumbnail.Pixels) is { Allowed: false } decision)
            {
                refused = decision;
                return null;
            }

            if (await renderer.RenderAsync(thumbnail, RateLimits.ClientOf(context, uploadKeyId: null)) is not { } render)
            {
                return null; // the image was deleted meanwhile
            }

            var (rendered, whole) = render;

            ServerTiming.Append(response, "queue", rendered.Queue);
            ServerTiming.Append(response, "resize", rendered.Resize, "decode and resize");
            ServerTiming.Append(response, "encode", rendered.Encode);
            var answer = new CachedResponse(thumbnail.MediaType, rendered.Bytes, thumbnail.ETag, image.Modified, ConditionalRequest.Immutable);
            await StoreAsync(key, answer, miss, whole);
            return answer;
        });

        return entry is not null ? new CachedAnswer(entry, renderedHere ? CachedAnswer.Miss : CachedAnswer.Hit)
            : refused is { } limited ? Problems.TooManyRequests(limited)
            : Problems.ImageNotFound(asked.Id);
    }

    private async Task StoreAsync(CacheKey key, CachedResponse answer, CacheLookup miss, bool whole)
    {
        if (answer.Body.Length > ResponseCacheMiddleware.MaxCachedBodyBytes)
        {
            metrics.CacheFill(CacheFillOutcome.TooLarge);
        }
        else if (!whole)
        {
            metrics.CacheFill(CacheFillOutcome.Torn);
        }
        else
        {
            var stored = await cache.StoreAsync(key, answer, miss, InMemory);
            metrics.CacheFill(stored ? CacheFillOutcome.Stored : CacheFillOutcome.NotKept);
        }
    }

    /// <summary>The bytes of a render read whole into memory (from a bucket), without copying them; null for a file.</summary>
    private static byte[]? WholeBuffer(Stream kept) =>
        kept is MemoryStream memory && memory.TryGetBuffer(out var buffer) && buffer is { Offset: 0, Array: { } array } && buffer.Count == array.Length
            ? array
            : null;

    /// <summary>
    /// Once the kept render has been sent to a GET, reads it into the cache, so that the next request is a hit; one
    /// promotion of a key at a time, and only of a render the cache may hold (a HEAD reads no body, and promotes nothing).
    /// </summary>
    /// <param name="read">The render's bytes when they were read whole already (from a bucket): not fetched again.</param>
    private void PromoteAfterwards(HttpContext context, CacheKey key, CacheLookup miss, Thumbnail thumbnail, byte[]? read)
    {
        if (!miss.Available || HttpMethods.IsHead(context.Request.Method) || !_promoting.TryAdd(key.Entry, 0))
        {
            return;
        }

        context.Response.OnCompleted(async () =>
        {
            try
            {
                if ((read is { Length: <= ResponseCacheMiddleware.MaxCachedBodyBytes } ? read : await renderer.ReadKeptAsync(thumbnail, ResponseCacheMiddleware.MaxCachedBodyBytes)) is { } bytes)
                {
                    var answer = new CachedResponse(thumbnail.MediaType, bytes, thumbnail.ETag, thumbnail.Image.Modified, ConditionalRequest.Immutable);
                    await StoreAsync(key, answer, miss, answer.IsWellFormed());
                }
            }
            finally
            {
                _promoting.TryRemove(key.Entry, out _);
            }
        });
    }
}
