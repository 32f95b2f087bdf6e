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
    /// storage folder. The image files stay in <see cref="StoragePath"/> (which instances must then share) unless
    /// <see cref="S3"/> names a bucket.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>An S3 bucket for the originals and kept renders, instead of <see cref="StoragePath"/>. Unset: the folder.</summary>
    public S3Options S3 { get; set; } = new();

    /// <summary>An outside service that reviews every upload before it is stored. Unset: uploads are not reviewed.</summary>
    public ModerationOptions Moderation { get; set; } = new();

    /// <summary>What each upload key may store. Unset: no limit.</summary>
    public QuotaOptions Quotas { get; set; } = new();

    /// <summary>
    /// How long startup waits for the catalog database to answer (an instance may start before its
    /// database does) before it gives up saying which database did not answer.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan DatabaseStartupWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The smallest width or height a listed thumbnail may have.</summary>
    [Range(1, 100_000)]
    public int MinThumbSize { get; set; } = 64;

    /// <summary>
    /// The most pixels a listed thumbnail may have: larger halves of a huge upload are not offered (404), so no request can
    /// make the server render, encode and keep tens of megapixels. The default keeps the whole ladder for photos up to 48 MP.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxThumbnailPixels { get; set; } = 12_000_000;

    /// <summary>The largest upload body accepted; larger ones answer 413 before they are read whole.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The most pixels (width × height) an upload's header may declare; more answer 413 before decoding.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>
    /// The most frames an animated GIF or WebP may have (413 past it). Every frame counts in <see cref="MaxPixels"/>,
    /// <see cref="MaxDecodeMegabytes"/> and <see cref="ImageWorkTimeout"/>: frames × width × height.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxFrames { get; set; } = 300;

    /// <summary>
    /// How old a leftover file (an unfinished write, a file no row names) must be before startup removes it:
    /// long enough that an upload another process is finishing is never taken for one.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan LeftoverGracePeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Lets startup unlist the images whose files the system says do not exist (see <see cref="Storage.StorageStartup"/>).
    /// Without it they stay listed (answering 404 until restored), and more than a small share of them missing fails the
    /// start, since the likelier cause is a folder that is not mounted. Never applied to a file that is only unreadable.
    /// </summary>
    public bool UnlistMissingFiles { get; set; }

    /// <summary>The former name of <see cref="UnlistMissingFiles"/>, still taken.</summary>
    public bool AllowLargeRepair { get; set; }

    /// <summary>
    /// The image engine: <see cref="Configuration.ImageEngine.Vips"/> (the default: every format, measured fastest)
    /// or <see cref="Configuration.ImageEngine.ImageSharp"/>. Thumbnail ETags name the engine, so switching
    /// re-renders thumbnails rather than serving the other engine's bytes under the same tag.
    /// </summary>
    public ImageEngine ImageEngine { get; set; } = ImageEngine.Vips;

    /// <summary>
    /// How many uploads are converted at once, and separately how many thumbnails rendered at once; 0: one
    /// per core (measured best, bench/RESULTS.md). Conversions and renders have workers and queues of their
    /// own, so a flood of uploads never keeps thumbnails from rendering.
    /// </summary>
    [Range(0, 1024)]
    public int ImageWorkers { get; set; }

    /// <summary>How many conversions, and separately how many renders, may wait for a worker before requests answer 503 with Retry-After.</summary>
    [Range(0, 100_000)]
    public int ImageQueueLength { get; set; } = 64;

    /// <summary>
    /// The megapixels all conversions admitted at once (running and waiting) may add up to, and separately all renders:
    /// work is counted by what it costs, so a few huge images fill the queue as many small ones would (503 past it).
    /// </summary>
    [Range(1, int.MaxValue)]
    public int ImageQueueMegapixels { get; set; } = 2000;

    /// <summary>
    /// How many conversions one client may have admitted at once, and separately renders (429 past it): the next job is
    /// taken round-robin across clients, so one that floods waits behind itself and others' work goes next.
    /// </summary>
    [Range(1, 100_000)]
    public int ImageQueuePerClient { get; set; } = 16;

    /// <summary>The megapixels one client's admitted conversions (and separately renders) may add up to; its first job is always admitted (429 past it).</summary>
    [Range(1, int.MaxValue)]
    public int ImageQueueMegapixelsPerClient { get; set; } = 200;

    /// <summary>
    /// The threads libvips (or ImageSharp) uses inside one operation; 0: one per core. One is
    /// measured best (bench/RESULTS.md): the image workers already keep every core busy, and threads
    /// inside each operation only add contention.
    /// </summary>
    [Range(0, 1024)]
    public int VipsThreads { get; set; } = 1;

    /// <summary>
    /// The memory all upload bodies in flight may hold together, reserved as their bytes arrive; an upload
    /// that would need more is answered 503 with Retry-After.
    /// </summary>
    [Range(1, 64 * 1024)]
    public int UploadBufferMegabytes { get; set; } = 128;

    /// <summary>How many upload bodies one client may have arriving (and converting) at once (429 with Retry-After past it).</summary>
    [Range(1, 100_000)]
    public int UploadsInFlightPerClient { get; set; } = 16;

    /// <summary>
    /// The memory one client's upload bodies in flight may hold together, at least one largest upload (429 with Retry-After
    /// past it): a quarter of <see cref="UploadBufferMegabytes"/> by default, so a client parking slow bodies fills its share only.
    /// </summary>
    [Range(1, 64 * 1024)]
    public int UploadBufferMegabytesPerClient { get; set; } = 32;

    /// <summary>
    /// The slowest an upload body may arrive, after a few seconds' grace (Kestrel's default is 240 B/s,
    /// which lets a client hold a connection for hours); a client slower than this is cut off.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MinUploadBytesPerSecond { get; set; } = 8 * 1024;

    /// <summary>Below this much free space in the storage folder, uploads answer 507 before anything is decoded.</summary>
    [Range(0, long.MaxValue)]
    public long MinFreeDiskMegabytes { get; set; } = 256;

    /// <summary>How many <c>GET /events</c> streams may be open at once in this instance (503 past it).</summary>
    [Range(0, 1_000_000)]
    public int MaxEventListeners { get; set; } = 1000;

    /// <summary>How many <c>GET /events</c> streams one client may have open (429 past it).</summary>
    [Range(1, 1_000_000)]
    public int MaxEventListenersPerClient { get; set; } = 8;

    /// <summary>How often an idle event stream gets a <c>: ping</c> comment, so that dead peers are noticed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan EventsKeepAlive { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The most memory one decode may need, judged from the header before decoding: width × height ×
    /// bands × bytes per sample, and the whole image again when a rotation needs it. More answers 413.
    /// </summary>
    [Range(1, 64 * 1024)]
    public int MaxDecodeMegabytes { get; set; } = 512;

    /// <summary>
    /// Where uploads are decoded: <see cref="Configuration.UploadDecoding.Sandboxed"/> (the default: in conversion worker
    /// processes with a memory ceiling and a deadline, killed and replaced when they pass them) or
    /// <see cref="Configuration.UploadDecoding.InProcess"/> (in the server itself: for measuring what the workers cost, or a
    /// platform where they cannot start; a decoder's bug then reaches the server).
    /// </summary>
    public UploadDecoding UploadDecoding { get; set; } = UploadDecoding.Sandboxed;

    /// <summary>
    /// The memory ceiling of one conversion worker: its resident memory is watched and it is killed past this (the upload
    /// answers 413), and the kernel refuses it writable memory past four times this. Allow for <see cref="MaxDecodeMegabytes"/>
    /// and the worker's own 70-odd MiB.
    /// </summary>
    [Range(64, 1024 * 1024)]
    public int SandboxMemoryMegabytes { get; set; } = 768;

    /// <summary>How long one conversion or thumbnail may compute before libvips is told to stop (422 or 503).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ImageWorkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The budget of the in-process response cache, used when no Redis is configured.</summary>
    [Range(1, 64 * 1024)]
    public int MemoryCacheMegabytes { get; set; } = 128;

    /// <summary>
    /// The budget of the memory tier in front of Redis (thumbnails and the list, answered without a
    /// round trip): used only with a Redis; 0 turns it off.
    /// </summary>
    [Range(0, 64 * 1024)]
    public int MemoryTierMegabytes { get; set; } = 32;

    /// <summary>The name <see cref="MemoryTierMegabytes"/> had before 2026-12: still read, so that a deployment setting it keeps its budget.</summary>
    [Range(0, 64 * 1024)]
    public int HotCacheMegabytes
    {
        get => MemoryTierMegabytes;
        set => MemoryTierMegabytes = value;
    }

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

    /// <summary>
    /// The megapixels of uploads a client may have converted per minute, counted from what their headers declare before
    /// anything is decoded (one per started megapixel, at least one per upload).
    /// </summary>
    public int UploadMegapixelsPerMinute { get; set; } = 1000;

    /// <summary>
    /// Thumbnails a client may have rendered per minute (answers from the cache do not count); a thumbnail of more than a
    /// megapixel counts one per started megapixel.
    /// </summary>
    public int RendersPerMinute { get; set; } = 600;
}
