using Asgilook.Access;
using Asgilook.Http;

namespace Asgilook.RateLimiting;

/// <summary>
/// At a route's edge: takes a token of the route's rate limit for the request's client (its upload key when the handler
/// binds an <see cref="Uploader"/>, otherwise its address) before the handler runs; over the limit, 429 with Retry-After.
/// </summary>
public sealed class RateLimitFilter(Func<RateLimits, RateLimitPolicy> policyOf) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var limits = context.HttpContext.RequestServices.GetRequiredService<RateLimits>();
        var uploader = context.Arguments.OfType<Uploader>().FirstOrDefault();
        if (await limits.TakeAsync(context.HttpContext, policyOf(limits), uploader?.KeyId) is { Allowed: false } refused)
        {
            return Problems.TooManyRequests(refused);
        }

        return await next(context);
    }
}

public static class RateLimitConventions
{
    /// <summary>Charges each request of the route one token of <paramref name="policyOf"/>'s policy, before its handler runs.</summary>
    public static RouteHandlerBuilder RateLimited(this RouteHandlerBuilder builder, Func<RateLimits, RateLimitPolicy> policyOf) =>
        builder.AddEndpointFilter(new RateLimitFilter(policyOf));
}
