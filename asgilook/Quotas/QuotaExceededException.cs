namespace Asgilook.Quotas;

/// <summary>An upload that would take its key past a quota: nothing of it was stored (507).</summary>
public sealed class QuotaExceededException(QuotaLimit limit, KeyUsage usage, Quota quota)
    : Exception($"The upload key's quota of {limit} is reached.")
{
    public QuotaLimit Limit { get; } = limit;

    public KeyUsage Usage { get; } = usage;

    public Quota Quota { get; } = quota;
}
