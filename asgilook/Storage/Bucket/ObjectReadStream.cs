using Amazon.S3;
using Amazon.S3.Model;

namespace Asgilook.Storage.Bucket;

/// <summary>
/// An object of a bucket as a seekable stream, for answering ranges as a file does: the body is read as it arrives,
/// never whole; a seek elsewhere than where the body is reads from there with a ranged GET. Each read is bounded by the
/// store's timeout, so a bucket that stalls mid-body ends the answer instead of holding it.
/// </summary>
internal sealed class ObjectReadStream : Stream
{
    private readonly IAmazonS3 _s3;
    private readonly string _bucket;
    private readonly string _key;
    private readonly TimeSpan _timeout;
    private readonly string _store;
    private GetObjectResponse? _response;
    private Stream? _body;
    private long _bodyAt;
    private long _position;

    private ObjectReadStream(IAmazonS3 s3, string bucket, string key, TimeSpan timeout, string store, GetObjectResponse first)
    {
        (_s3, _bucket, _key, _timeout, _store) = (s3, bucket, key, timeout, store);
        (_response, _body) = (first, first.ResponseStream);
        Length = first.ContentLength;
    }

    /// <summary>Starts reading the object from its start; null when it does not exist.</summary>
    /// <param name="store">The store's description, for what a failed read says.</param>
    public static async Task<ObjectReadStream?> OpenAsync(IAmazonS3 s3, string bucket, string key, TimeSpan timeout, string store, CancellationToken cancellationToken)
    {
        try
        {
            var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, cancellationToken);
            return new ObjectReadStream(s3, bucket, key, timeout, store, response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set => _position = Math.Clamp(value, 0, Length);
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= Length || buffer.Length == 0)
        {
            return 0;
        }

        // Bounded by the store's timeout, not cancelled with the answer (see BucketStore's calls): a client that left
        // ends the answer, which disposes this stream.
        cancellationToken.ThrowIfCancellationRequested();
        using var bounded = new CancellationTokenSource(_timeout);
        int read;
        try
        {
            if (_body is null || _bodyAt != _position)
            {
                CloseBody();
                _response = await _s3.GetObjectAsync(
                    new GetObjectRequest { BucketName = _bucket, Key = _key, ByteRange = new ByteRange(_position, Length - 1) }, bounded.Token);
                (_body, _bodyAt) = (_response.ResponseStream, _position);
            }

            read = await _body.ReadAsync(buffer, bounded.Token);
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or HttpRequestException or OperationCanceledException
            or (IOException and not StoreUnavailableException))
        {
            // Mid-answer: the answer is cut short; what is logged says why, never the SDK's own text.
            throw new StoreUnavailableException(_store, Operations.Redaction.Describe(e));
        }

        if (read == 0)
        {
            throw new StoreUnavailableException(_store, $"the object ended at {_position} of {Length} bytes");
        }

        _position += read;
        _bodyAt = _position;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void CloseBody()
    {
        _body?.Dispose();
        _response?.Dispose();
        (_body, _response) = (null, null);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseBody();
        }

        base.Dispose(disposing);
    }
}
