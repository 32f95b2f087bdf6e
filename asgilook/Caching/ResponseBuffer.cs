namespace Asgilook.Caching;

/// <summary>
/// Holds a cacheable answer's body while its endpoint writes it, instead of passing it to the client as
/// it comes: the answer is judged whole (and stored) before a byte of it leaves, and the client then
/// gets it in one write with its Content-Length. A body that outgrows the limit is passed through from
/// then on (what was held first, then every later write) and is never cached.
/// </summary>
/// <remarks>
/// The held bytes are this answer's own array, never a pooled one: a stored entry keeps it, so nothing
/// may reuse it for another answer.
/// </remarks>
internal sealed class ResponseBuffer(Stream client, HttpResponse response, int limit) : Stream
{
    private byte[] _held = [];
    private int _length;

    /// <summary>True once the body outgrew the limit and went to the client as it came: it is not cached.</summary>
    public bool PassedThrough { get; private set; }

    /// <summary>Every byte the endpoint wrote, held or passed through.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>The held body (empty once passed through).</summary>
    public ReadOnlyMemory<byte> Held => _held.AsMemory(0, _length);

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>The held body as an array of exactly its length (the held one itself when it is, as for a thumbnail).</summary>
    public byte[] ToArray() => _length == _held.Length ? _held : _held.AsSpan(0, _length).ToArray();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        BytesWritten += buffer.Length;
        if (!PassedThrough && Hold(buffer))
        {
            return;
        }

        client.Write(Held.Span);
        Release();
        client.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BytesWritten += buffer.Length;
        if (!PassedThrough && Hold(buffer.Span))
        {
            return;
        }

        if (_length > 0)
        {
            await client.WriteAsync(Held, cancellationToken);
            Release();
        }

        await client.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>Nothing held is sent before the endpoint is done; a passed-through body flushes as usual.</summary>
    public override void Flush()
    {
        if (PassedThrough)
        {
            client.Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        PassedThrough ? client.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Release()
    {
        _held = [];
        _length = 0;
    }

    /// <summary>Keeps the bytes; false when they would pass the limit (the caller then sends what is held and passes through).</summary>
    private bool Hold(ReadOnlySpan<byte> buffer)
    {
        var needed = (long)_length + buffer.Length;
        if (needed > limit)
        {
            PassedThrough = true;
            return false;
        }

        if (needed > _held.Length)
        {
            // An endpoint that declares its length (a thumbnail) gets an array of exactly that size: no copy at the end.
            var size = _length == 0 && response.ContentLength is { } declared && declared >= needed && declared <= limit
                ? declared
                : Math.Min(limit, Math.Max(needed, Math.Max(4096, (long)_held.Length * 2)));
            Array.Resize(ref _held, (int)size);
        }

        buffer.CopyTo(_held.AsSpan(_length));
        _length = (int)needed;
        return true;
    }
}
