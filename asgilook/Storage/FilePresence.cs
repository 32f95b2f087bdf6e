namespace Asgilook.Storage;

/// <summary>What a look at an image's file found.</summary>
public enum FilePresence
{
    Present,

    /// <summary>The system said the file does not exist.</summary>
    Missing,

    /// <summary>The look failed otherwise (an I/O error, a stale network mount): nothing can be concluded.</summary>
    Unknown,
}
