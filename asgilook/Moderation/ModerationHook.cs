using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Operations;
using Microsoft.Extensions.Options;

namespace Asgilook.Moderation;

/// <summary>
/// The moderation hook (<see cref="ModerationOptions"/>): before an upload is stored, its converted JPEG is POSTed to the
/// hook with the new image's id and the uploader's key id (the key's hash, never the key). 2xx accepts, 4xx refuses,
/// anything else is a failure answered per <see cref="ModerationOptions.OnFailure"/>. The URL is never logged: log
/// lines say what the hook did, not where it is.
/// </summary>
public sealed partial class ModerationHook : IDisposable
{
    /// <summary>The header naming the image the upload will be stored as.</summary>
    public const string ImageIdHeader = "Asgilook-Image-Id";

    /// <summary>The header naming the uploader's key by its id (absent for uploads without a key).</summary>
    public const string UploaderKeyIdHeader = "Asgilook-Uploader-Key-Id";

    /// <summary>The header of an animation's review: how many frames the animated WebP sent has.</summary>
    public const string FramesHeader = "Asgilook-Frames";

    private readonly HttpClient? _client;
    private readonly Uri? _url;
    private readonly AuthenticationHeaderValue? _basic;
    private readonly TimeSpan _timeout;
    private readonly ModerationFailure _onFailure;
    private readonly AsgilookMetrics _metrics;
    private readonly ILogger<ModerationHook> _logger;
    private volatile string? _lastFailure;

    public ModerationHook(IOptions<AsgilookOptions> options, AsgilookMetrics metrics, ILogger<ModerationHook> logger)
    {
        var moderation = options.Value.Moderation;
        (_timeout, _onFailure, _metrics, _logger) = (TimeSpan.FromSeconds(moderation.TimeoutSeconds), moderation.OnFailure, metrics, logger);
        if (!moderation.Configured)
        {
            return;
        }

        var url = new Uri(moderation.Url!);
        if (url.UserInfo.Length > 0)
        {
            // user:password@ in the URL is sent as Basic credentials, and kept out of the request line.
            _basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(url.UserInfo))));
            url = new UriBuilder(url) { UserName = "", Password = "" }.Uri;
        }

        _url = url;
        _client = new HttpClient(new SocketsHttpHandler
        {
            // A redirect would send the image somewhere the operator did not name: it counts as a failure.
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = _timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxResponseDrainSize = HookReason.MaxBodyBytes,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the deadline of each call is its own
            DefaultRequestHeaders = { UserAgent = { new ProductInfoHeaderValue("Asgilook", null) } },
        };
    }

    /// <summary>Whether a hook is set.</summary>
    public bool Configured => _client is not null;

    /// <summary>What the hook did at its last review when that failed (never where it is); null once a review is answered.</summary>
    public string? LastFailure => _lastFailure;

    /// <summary>
    /// Asks the hook about the upload: its JPEG, and for an animated upload its every frame too (the animated WebP its
    /// thumbnails are made from), so that a harmless first frame cannot carry the others past the hook. Returns when
    /// all were accepted (or the hook failed and failures are accepted).
    /// </summary>
    /// <exception cref="ModerationRefusedException">The hook refused it.</exception>
    /// <exception cref="ModerationUnavailableException">The hook failed and <c>OnFailure</c> is <c>Reject</c>.</exception>
    public async Task ReviewAsync(Guid imageId, string? uploaderKeyId, ConvertedImage converted, CancellationToken cancellationToken)
    {
        if (_client is null)
        {
            return;
        }

        await ReviewAsync(_client, Request(imageId, uploaderKeyId, converted.Jpeg, "image/jpeg"), imageId, cancellationToken);
        if (converted.Animation is { } animation)
        {
            var frames = Request(imageId, uploaderKeyId, animation.Webp, "image/webp");
            frames.Headers.Add(FramesHeader, animation.Frames.ToString(CultureInfo.InvariantCulture));
            await ReviewAsync(_client, frames, imageId, cancellationToken);
        }
    }

    private async Task ReviewAsync(HttpClient client, HttpRequestMessage review, Guid imageId, CancellationToken cancellationToken)
    {
        using var request = review;
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        string failure;
        try
        {
            using var answer = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var status = (int)answer.StatusCode;
            if (status is >= 200 and < 300)
            {
                _lastFailure = null;
                _metrics.Moderated("accepted", Stopwatch.GetElapsedTime(started));
                return; // the body, whatever its size, is never read
            }

            if (status is >= 400 and < 500)
            {
                var reason = await ReasonAsync(answer, deadline.Token, cancellationToken);
                _lastFailure = null;
                _metrics.Moderated("refused", Stopwatch.GetElapsedTime(started));
                Log.Refused(_logger, imageId, status);
                throw new ModerationRefusedException(reason);
            }

            failure = $"answered {status}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            failure = $"did not answer within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
        }
        catch (HttpRequestException e)
        {
            failure = e.HttpRequestError switch
            {
                HttpRequestError.ConnectionError => "could not be reached",
                HttpRequestError.NameResolutionError => "has a host name that does not resolve",
                HttpRequestError.SecureConnectionError => "failed its TLS handshake",
                _ => $"answered with a broken response ({e.HttpRequestError})",
            };
        }

        _lastFailure = failure;
        _metrics.Moderated("failed", Stopwatch.GetElapsedTime(started));
        if (_onFailure == ModerationFailure.Accept)
        {
            Log.FailedAccepted(_logger, imageId, failure);
            return;
        }

        Log.FailedRejected(_logger, imageId, failure);
        throw new ModerationUnavailableException();
    }

    private HttpRequestMessage Request(Guid imageId, string? uploaderKeyId, byte[] image, string mediaType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(image) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        request.Headers.Add(ImageIdHeader, imageId.ToString());
        if (uploaderKeyId is not null)
        {
            request.Headers.Add(UploaderKeyIdHeader, uploaderKeyId);
        }

        request.Headers.Authorization = _basic;
        return request;
    }

    /// <summary>The refusal's reason; none when it does not arrive before the deadline (the refusal stands).</summary>
    private static async Task<string?> ReasonAsync(HttpResponseMessage answer, CancellationToken deadline, CancellationToken cancellationToken)
    {
        try
        {
            return await HookReason.ReadAsync(answer.Content, deadline);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public void Dispose() => _client?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "The moderation hook refused image {ImageId} ({Status}); nothing was stored")]
        public static partial void Refused(ILogger logger, Guid imageId, int status);

        [LoggerMessage(LogLevel.Warning, "The moderation hook {Failure} for image {ImageId}; the upload was refused (OnFailure=Reject)")]
        public static partial void FailedRejected(ILogger logger, Guid imageId, string failure);

        [LoggerMessage(LogLevel.Warning, "The moderation hook {Failure} for image {ImageId}; the upload was stored unreviewed (OnFailure=Accept)")]
        public static partial void FailedAccepted(ILogger logger, Guid imageId, string failure);
    }
}
