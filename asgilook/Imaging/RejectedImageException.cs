namespace Asgilook.Imaging;

/// <summary>Why an upload was refused.</summary>
public enum Rejection
{
    /// <summary>Not an image, or a truncated or corrupt one.</summary>
    Unreadable,

    /// <summary>A recognised image format that Asgilook does not read.</summary>
    UnsupportedFormat,

    /// <summary>The header declares more pixels than allowed, or a decode needing more memory than one image may take.</summary>
    TooManyPixels,

    /// <summary>Converting it ran past the time one image may take: 422.</summary>
    TookTooLong,

    /// <summary>Decoding it needed more memory than a conversion worker may have (the worker was stopped or refused an allocation): 413.</summary>
    OverMemory,

    /// <summary>The decoder failed in a way it was not meant to (the conversion worker died): 422.</summary>
    DecoderFailed,
}

/// <summary>Raised when an upload is not an image Asgilook takes; the message says why, for the client.</summary>
public sealed class RejectedImageException(Rejection reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public Rejection Reason { get; } = reason;
}
