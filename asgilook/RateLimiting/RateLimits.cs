using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Asgilook.Configuration;
using Asgilook.Operations;
using Asgilook.Redis;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Asgilook.RateLimiting;

/// <summary>
/// How fast one client may upload and make the server render. A client is its upload key (by id) when
/// it presents one, otherwise its address (an IPv6 client by its /64, which one subscriber usually
/// holds whole). With Redis the budgets are shared by every instance; while Redis does not answer,
/// each instance counts on its own (logged once), never with no limit and never refusing everyone.
/// </summary>
public sealed partial class RateLimits
{
    private readonly IRateLimitStore? _shared;
    private readonly LocalRateLimitStore _local;
    private readonly ILogger<RateLimits> _logger;
    private int _sharedFailing;

    public RateLimits(IOptions<AsgilookOptions> options, RedisConnection redis, TimeProvider clock, ILogger<RateLimits> logger)
    {
        var limits = options.Value.RateLimits;
        Uploads = new RateLimitPolicy("uploads", limits.UploadsPerMinute);
        UploadMegapixels = new RateLimitPolicy("upload-megapixels", limits.UploadMegapixelsPerMinute);
        Renders = new RateLimitPolicy("renders", limits.RendersPerMinute);
        _shared = redis.Configured ? new RedisRateLimitStore(redis) : null;
        _local = new LocalRateLimitStore(clock);
        _logger = logger;
    }

    public RateLimitPolicy Uploads { get; }

    /// <summary>The megapixels uploads declare: one huge image costs what many small ones do.</summary>
    public RateLimitPolicy UploadMegapixels { get; }

    /// <summary>Thumbnails that had to be rendered (answers from the cache cost nothing and are not counted).</summary>
    public RateLimitPolicy Renders { get; }

    /// <summary>
    /// Takes a token for the request's client and sets the <c>RateLimit-Policy</c> and <c>RateLimit</c>
    /// headers (and <c>Retry-After</c> when refused); null when the policy is off.
    /// </summary>
    /// <param name="uploadKeyId">The id of the upload key the request presented, if any.</param>
    /// <param name="pixels">The pixels of the work, for a policy counted by them (null: one token).</param>
    public async Task<RateLimitDecision?> TakeAsync(HttpContext context, RateLimitPolicy policy, string? uploadKeyId = null, long? pixels = null)
    {
        if (!policy.Enabled)
        {
            return null;
        }

        var decision = await TakeAsync(ClientOf(context, uploadKeyId), policy, pixels is { } work ? policy.CostOf(work) : 1);
        // Several policies may apply to one request (uploads, and the megapixels they declare): each is a member of the lists.
        var headers = context.Response.Headers;
        headers.Append("RateLimit-Policy", $"\"{policy.Name}\";q={policy.PerMinute};w=60");
        headers.Append("RateLimit", $"\"{policy.Name}\";r={decision.Remaining};t={decision.SecondsUntilFull}");
        if (!decision.Allowed)
        {
            headers[HeaderNames.RetryAfter] = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        return decision;
    }

    /// <summary>The bucket of a client: <c>key:&lt;id&gt;</c> or <c>ip:&lt;address&gt;</c>.</summary>
    public static string ClientOf(HttpContext context, string? uploadKeyId)
    {
        if (uploadKeyId is not null)
        {
            return "key:" + uploadKeyId[..32];
        }

        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"ip:{new IPNetwork(address, 64).BaseAddress}/64"
            : $"ip:{address}";
    }

    private async Task<RateLimitDecision> TakeAsync(string client, RateLimitPolicy policy, int cost)
    {
        if (_shared is null)
        {
            return await _local.TakeAsync(client, policy, cost);
        }

        try
        {
            var decision = await _shared.TakeAsync(client, policy, cost);
            if (Interlocked.Exchange(ref _sharedFailing, 0) == 1)
            {
                Log.SharedAgain(_logger);
            }

            return decision;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (Interlocked.Exchange(ref _sharedFailing, 1) == 0)
            {
                Log.LocalOnly(_logger, Redaction.Describe(e));
            }

            return await _local.TakeAsync(client, policy, cost);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Rate limits: Redis does not answer ({Reason}); this instance counts on its own until it does")]
        public static partial void LocalOnly(ILogger logger, string reason);

        [LoggerMessage(LogLevel.Information, "Rate limits: Redis answers again; budgets are shared across instances")]
        public static partial void SharedAgain(ILogger logger);
    }
}
