using System.ComponentModel.DataAnnotations;

namespace Asgilook.Configuration;

/// <summary>
/// The service's settings, bound from the <c>Asgilook</c> configuration section
/// (appsettings.json, <c>Asgilook__X</c> environment variables, <c>--Asgilook:X=...</c>)
/// and from the tutorial's <c>ASGI_LOOK_*</c> variables (see <see cref="TutorialEnvironmentVariables"/>).
/// </summary>
public sealed class AsgilookOptions
{
    public const string SectionName = "Asgilook";

    public static readonly string DefaultStoragePath = Path.Combine(Path.GetTempPath(), "asgilook");

    /// <summary>The folder holding the stored JPEGs; created at startup if missing.</summary>
    [Required(AllowEmptyStrings = false)]
    public string StoragePath { get; set; } = DefaultStoragePath;

    /// <summary>
    /// Where the response cache lives, as <c>redis://[:password@]host[:port][/db]</c> or a
    /// StackExchange.Redis configuration string. Unset: an in-process memory cache.
    /// </summary>
    public string? RedisHost { get; set; }

    /// <summary>
    /// A PostgreSQL connection string for the image metadata, shared by every instance. Unset: SQLite in the
    /// storage folder. The image files stay in <see cref="StoragePath"/>, which instances must share.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>
    /// How long startup waits for the catalog database to answer (an instance may start before its
    /// database does) before it gives up saying which database did not answer.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan DatabaseStartupWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The smallest width or height a listed thumbnail may have.</summary>
    [Range(1, 100_000)]
    public int MinThumbSize { get; set; } = 64;

    /// <summary>The largest upload body accepted; larger ones answer 413 before they are read whole.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The most pixels (width × height) an upload's header may declare; more answer 413 before decoding.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>
    /// How old a leftover file (an unfinished write, a file no row names) must be before startup removes it:
    /// long enough that an upload another process is finishing is never taken for one.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan LeftoverGracePeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many images are converted or thumbnailed at once; 0: one per core (measured best, bench/RESULTS.md).</summary>
    [Range(0, 1024)]
    public int ImageWorkers { get; set; }

    /// <summary>How much image work may wait for a worker before requests answer 503 with Retry-After.</summary>
    [Range(0, 100_000)]
    public int ImageQueueLength { get; set; } = 64;

    /// <summary>
    /// The threads libvips uses inside one operation; 0: libvips' default (one per core). One is
    /// measured best (bench/RESULTS.md): the image workers already keep every core busy, and threads
    /// inside each operation only add contention.
    /// </summary>
    [Range(0, 1024)]
    public int VipsThreads { get; set; } = 1;

    /// <summary>The budget of the in-process response cache, used when no Redis is configured.</summary>
    [Range(1, 64 * 1024)]
    public int MemoryCacheMegabytes { get; set; } = 128;

    /// <summary>Keys that may delete any image (<c>Authorization: Bearer &lt;key&gt;</c>). None: only owners delete.</summary>
    public string[] AdminKeys { get; set; } = [];

    /// <summary>
    /// Keys that may upload. None (the default, the tutorial's behaviour): anyone may upload. Some: an
    /// upload without one of them is refused 401, and its uploader may delete it with the same key.
    /// </summary>
    public string[] UploadKeys { get; set; } = [];

    /// <summary>
    /// The proxies (addresses or CIDR ranges) whose <c>X-Forwarded-For</c> is believed when telling
    /// clients apart for the rate limits. None: every client is the address it connects from.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>How fast one client may upload and make the server render (checked by <see cref="AsgilookOptionsValidator"/>).</summary>
    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>
    /// Where <c>/metrics</c>, the detailed <c>/health/ready</c> and <c>/openapi/v1.json</c> are served,
    /// e.g. <c>http://127.0.0.1:9090</c> (several separated by <c>;</c>), instead of on the public
    /// addresses. Unset: everything is served on the public addresses.
    /// </summary>
    public string? ManagementUrls { get; set; }
}

/// <summary>Per-client token buckets, each with a burst as large as its per-minute rate; 0 turns a limit off.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Uploads a client may make per minute.</summary>
    public int UploadsPerMinute { get; set; } = 60;

    /// <summary>Thumbnails a client may have rendered per minute (answers from the cache do not count).</summary>
    public int RendersPerMinute { get; set; } = 600;
}
