namespace Asgilook.Images;

/// <summary>
/// The memory all upload bodies in flight may hold together (<c>Asgilook:UploadBufferMegabytes</c>):
/// received and not yet converted, and each client's share of it. Bytes are reserved as they arrive, not
/// as a Content-Length announces them, so a client trickling a body holds only what it sent; when the
/// budget is spent, the upload that needs more is refused 503 with Retry-After instead of the process
/// growing. One client may have at most <c>UploadsInFlightPerClient</c> bodies arriving at once, holding
/// at most <c>UploadBufferMegabytesPerClient</c> (or one largest upload, if that is more): a client that
/// parks slow bodies fills its own share, not everyone's.
/// </summary>
public sealed class UploadBudget(long bytes, int bodiesPerClient = int.MaxValue, long bytesPerClient = long.MaxValue)
{
    private readonly Dictionary<string, ClientShare> _clients = new(StringComparer.Ordinal);
    private long _available = bytes;

    public long Capacity { get; } = bytes;

    /// <summary>Bytes reserved now.</summary>
    public long InUse => Capacity - Interlocked.Read(ref _available);

    /// <summary>Starts a body for the client; false when it has as many arriving as one client may.</summary>
    public bool TryStart(string client)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(client, out var share))
            {
                _clients[client] = share = new ClientShare();
            }

            if (share.Bodies >= bodiesPerClient)
            {
                return false;
            }

            share.Bodies++;
            return true;
        }
    }

    /// <summary>Ends a body started with <see cref="TryStart"/>, giving back what it reserved.</summary>
    public void End(string client, long reserved)
    {
        Release(reserved);
        lock (_clients)
        {
            if (_clients.TryGetValue(client, out var share))
            {
                share.Bodies--;
                share.Bytes -= reserved;
                if (share.Bodies == 0)
                {
                    _clients.Remove(client);
                }
            }
        }
    }

    /// <summary>Reserves bytes for a client's body.</summary>
    /// <returns>Null when reserved; otherwise whether the client's own share (true) or the whole budget (false) is spent.</returns>
    public bool? TryReserve(string client, long count)
    {
        lock (_clients)
        {
            if (_clients.TryGetValue(client, out var share) && share.Bytes + count > bytesPerClient)
            {
                return true;
            }

            if (!TryReserve(count))
            {
                return false;
            }

            if (share is not null)
            {
                share.Bytes += count;
            }

            return null;
        }
    }

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

    private sealed class ClientShare
    {
        public int Bodies { get; set; }

        public long Bytes { get; set; }
    }
}
