namespace Asgilook.Storage;

/// <summary>
/// The store holding the images' bytes cannot be reached (a bucket timing out, refusing connections or answering an
/// error): answered as 503 with Retry-After. An <see cref="IOException"/>, so that what tolerates a failed disk write
/// (a render that cannot be kept) tolerates this too.
/// </summary>
/// <param name="reason">What failed, already safe to show (<see cref="Operations.Redaction"/>): never a key or raw text.</param>
public sealed class StoreUnavailableException(string store, string reason, Exception? inner = null)
    : IOException($"{store} cannot be reached ({reason}).", inner)
{
    public string Reason { get; } = reason;
}
