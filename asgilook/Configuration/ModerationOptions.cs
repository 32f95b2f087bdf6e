namespace Asgilook.Configuration;

/// <summary>What an upload gets when the moderation hook fails (answers 5xx, cannot be reached, or does not answer in time).</summary>
public enum ModerationFailure
{
    /// <summary>The upload is refused with 503 and Retry-After: nothing unreviewed is ever listed.</summary>
    Reject,

    /// <summary>The upload is stored as if the hook had accepted it (and a warning says so).</summary>
    Accept,
}

/// <summary>
/// An outside service that reviews every upload before it is acknowledged (<c>Asgilook__Moderation__*</c>): it is sent
/// the converted JPEG (and an animation's every frame as an animated WebP) and answers 2xx to accept, 4xx to refuse
/// (its reason is shown to the uploader).
/// </summary>
public sealed class ModerationOptions
{
    /// <summary>The hook's http(s) URL. It may carry a secret (a token in its query or user info): it is never logged or shown. Unset: no review.</summary>
    public string? Url { get; set; }

    /// <summary>How long the whole call may take (connecting, sending the JPEG, the answer and its reason) before it counts as failed.</summary>
    public double TimeoutSeconds { get; set; } = 5;

    /// <inheritdoc cref="ModerationFailure"/>
    public ModerationFailure OnFailure { get; set; } = ModerationFailure.Reject;

    /// <summary>Whether uploads are reviewed.</summary>
    public bool Configured => !string.IsNullOrWhiteSpace(Url);

    /// <summary>Never the URL, should the settings be logged.</summary>
    public override string ToString() => $"Moderation {{ Configured = {Configured}, TimeoutSeconds = {TimeoutSeconds}, OnFailure = {OnFailure} }}";
}
