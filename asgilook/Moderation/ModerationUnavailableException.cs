namespace Asgilook.Moderation;

/// <summary>
/// The moderation hook could not review an upload (it answered 5xx, could not be reached or did not answer in time) and
/// <c>OnFailure</c> is <c>Reject</c>: nothing was stored; 503 with Retry-After.
/// </summary>
public sealed class ModerationUnavailableException() : Exception("The moderation hook could not review the upload.");
