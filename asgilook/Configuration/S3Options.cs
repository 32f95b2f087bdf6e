namespace Asgilook.Configuration;

/// <summary>
/// The S3 bucket (AWS S3, or any S3-compatible server: Ceph radosgw, MinIO, Garage...) holding the originals and kept
/// renders instead of the storage folder, so that instances share no folder. Set <see cref="Endpoint"/> and
/// <see cref="Bucket"/> to use it (<c>ASGI_LOOK_S3_*</c> or <c>Asgilook__S3__*</c>).
/// </summary>
public sealed class S3Options
{
    /// <summary>The server's URL, e.g. <c>https://s3.eu-west-1.amazonaws.com</c> or <c>http://127.0.0.1:7480</c>. Unset: the storage folder.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The bucket; created at startup when it does not exist (and the key may create it).</summary>
    public string? Bucket { get; set; }

    /// <summary>The access key id. With <see cref="SecretKey"/> unset too, the SDK's own credentials chain (an instance role) is used.</summary>
    public string? AccessKey { get; set; }

    /// <summary>The secret key: never logged, never shown.</summary>
    public string? SecretKey { get; set; }

    /// <summary>The region requests are signed for.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>
    /// How long any one call to the bucket may take (connecting, the answer's headers, each read of a body) before it
    /// counts as the bucket being away: an upload then answers 503 with Retry-After instead of hanging.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a running instance deletes the objects no catalogued image names (an upload whose row never came, a
    /// delete that could not reach the bucket), once older than <c>LeftoverGracePeriod</c>.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How much of this instance's storage folder may hold copies of originals read from the bucket (least recently used
    /// out first), so that an original read again is sent as a file, with no round trip. 0: none, every read from the bucket.
    /// </summary>
    public int ReadCacheMegabytes { get; set; } = 1024;

    /// <summary>Whether the bucket, rather than the folder, holds the images: any of its settings asks for it (and validation wants them all).</summary>
    public bool Configured => new[] { Endpoint, Bucket, AccessKey, SecretKey }.Any(setting => !string.IsNullOrWhiteSpace(setting));

    /// <summary>Never the secret, should the settings be logged.</summary>
    public override string ToString() => $"S3 {{ Endpoint = {Endpoint}, Bucket = {Bucket}, Region = {Region} }}";
}
