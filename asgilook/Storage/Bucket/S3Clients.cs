using Amazon.Runtime;
using Amazon.S3;
using Asgilook.Configuration;

namespace Asgilook.Storage.Bucket;

/// <summary>The S3 client for <see cref="S3Options"/>: path-style addressing, bounded calls, checksums only where S3 requires them.</summary>
internal static class S3Clients
{
    public static AmazonS3Client Create(S3Options options)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = options.Endpoint,
            AuthenticationRegion = options.Region,
            // Bucket names in the path, not the host name: what every S3-compatible server answers.
            ForcePathStyle = true,
            // The SDK's default trailing CRC32 checksums are unknown to several S3-compatible servers (Ceph 16
            // answers XAmzContentSHA256Mismatch); the service sends Content-MD5 itself, which every one checks.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = options.Timeout,
            // One retry at most: an upload waiting on a bucket that is away answers 503 within two timeouts.
            MaxErrorRetry = 1,
        };
        return options.AccessKey is { Length: > 0 } accessKey
            ? new AmazonS3Client(new BasicAWSCredentials(accessKey, options.SecretKey), config)
            : new AmazonS3Client(config);
    }
}
