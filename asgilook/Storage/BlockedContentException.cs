namespace Asgilook.Storage;

/// <summary>An upload whose content an admin blocked (deleting an image with <c>?block=true</c>): nothing of it was stored.</summary>
public sealed class BlockedContentException() : Exception("This content was removed by an administrator and may not be uploaded again.");
