namespace Asgilook.Configuration;

/// <summary>
/// What each upload key may store (<c>Asgilook__Quotas__*</c>), counted from the catalog, so that deleting frees quota at
/// once and every instance sharing the catalog counts the same. Uploads without a key (no <c>UploadKeys</c>) have no quota.
/// </summary>
public sealed class QuotaOptions
{
    /// <summary>The most images one key may have stored; 0: no limit.</summary>
    public int ImagesPerKey { get; set; }

    /// <summary>The most megabytes (MiB) of stored JPEGs one key may have; 0: no limit.</summary>
    public int MegabytesPerKey { get; set; }

    public Quotas.Quota Quota => new(ImagesPerKey, MegabytesPerKey * 1024L * 1024L);
}
