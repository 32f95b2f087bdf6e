namespace Asgilook.Images;

/// <summary>
/// The memory all upload bodies in flight may hold together (<c>Asgilook:UploadBufferMegabytes</c>):
/// received and not yet converted. Bytes are reserved as they arrive, not as a Content-Length announces
/// them, so a client trickling a body holds only what it sent; when the budget is spent, the upload
/// that needs more is refused 503 with Retry-After instead of the process growing.
/// </summary>
public sealed class UploadBudget(long bytes)
{
    private long _available = bytes;

    public long Capacity { get; } = bytes;

    /// <summary>Bytes reserved now.</summary>
    public long InUse => Capacity - Interlocked.Read(ref _available);

    public bool TryReserve(long count)
    {
        while (true)
        {
            var available = Interlocked.Read(ref _available);
            if (available < count)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _available, available - count, available) == available)
            {
                return true;
            }
        }
    }

    public void Release(long count) => Interlocked.Add(ref _available, count);
}
