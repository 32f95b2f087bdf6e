using MessagePack;

namespace Asgilook;

/// <summary>The tutorial's RedisCache middleware.</summary>
public sealed class RedisCache(RequestDelegate next, RedisConnection redis)
{
    private const string Prefix = "asgilook:";
    private static readonly TimeSpan TimeToLive = TimeSpan.FromHours(1);

    public async Task InvokeAsync(HttpContext context)
    {
        var (request, response) = (context.Request, context.Response);
        var key = Prefix + request.Path;
        if (!HttpMethods.IsGet(request.Method))
        {
            await next(context);
            if (response.StatusCode is >= 200 and < 300 && !HttpMethods.IsHead(request.Method))
            {
                await redis.Database.KeyDeleteAsync(key);
            }

            return;
        }

        var cached = await redis.Database.StringGetAsync(key);
        if (!cached.IsNull)
        {
            var (contentType, body) = MessagePackSerializer.Deserialize<(string, byte[])>((byte[])cached!);
            response.Headers["X-ASGILook-Cache"] = "Hit";
            response.ContentType = contentType;
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body);
            return;
        }

        response.Headers["X-ASGILook-Cache"] = "Miss";
        var original = response.Body;
        using var copy = new MemoryStream();
        response.Body = copy;
        try
        {
            await next(context);
        }
        finally
        {
            response.Body = original;
        }

        copy.Position = 0;
        await copy.CopyToAsync(original);
        if (response.StatusCode == StatusCodes.Status200OK)
        {
            var entry = MessagePackSerializer.Serialize((response.ContentType ?? "application/octet-stream", copy.ToArray()));
            await redis.Database.StringSetAsync(key, entry, TimeToLive);
        }
    }
}
