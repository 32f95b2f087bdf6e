namespace Asgilook.Quotas;

/// <summary>What one upload key may store: a number of images and the bytes of their stored JPEGs (0: no limit).</summary>
public sealed record Quota(long Images, long Bytes)
{
    public static readonly Quota None = new(0, 0);

    /// <summary>Whether either limit is set.</summary>
    public bool Limits => Images > 0 || Bytes > 0;

    /// <summary>Which limit storing <paramref name="addedBytes"/> more as one image would pass; null when it fits.</summary>
    public QuotaLimit? PassedBy(KeyUsage usage, long addedBytes) =>
        Images > 0 && usage.Images + 1 > Images ? QuotaLimit.Images
        : Bytes > 0 && usage.Bytes + addedBytes > Bytes ? QuotaLimit.Bytes
        : null;

    /// <summary>Which limit the key has reached already, so that no upload at all can fit (checked before a body is read).</summary>
    public QuotaLimit? ReachedBy(KeyUsage usage) =>
        Images > 0 && usage.Images >= Images ? QuotaLimit.Images
        : Bytes > 0 && usage.Bytes >= Bytes ? QuotaLimit.Bytes
        : null;
}

/// <summary>The two limits of a <see cref="Quota"/>, by their settings' names.</summary>
public enum QuotaLimit
{
    /// <summary><c>Quotas:ImagesPerKey</c>.</summary>
    Images,

    /// <summary><c>Quotas:MegabytesPerKey</c>.</summary>
    Bytes,
}

/// <summary>What one upload key stores now: its images and the bytes of their stored JPEGs.</summary>
public sealed record KeyUsage(long Images, long Bytes);
