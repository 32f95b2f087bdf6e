namespace Asgilook.Moderation;

/// <summary>The moderation hook refused an upload (it answered 4xx): nothing of it was stored.</summary>
/// <param name="reason">The hook's reason, cleaned (<see cref="HookReason"/>); null when it gave none.</param>
public sealed class ModerationRefusedException(string? reason) : Exception("The moderation hook refused the upload.")
{
    public string? Reason { get; } = reason;
}
