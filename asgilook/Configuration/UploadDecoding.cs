namespace Asgilook.Configuration;

/// <summary>Where uploads' untrusted bytes are decoded (<c>Asgilook:UploadDecoding</c>).</summary>
public enum UploadDecoding
{
    /// <summary>In conversion worker processes, each under a memory ceiling and a deadline: a decoder's bug costs a worker, not the server.</summary>
    Sandboxed,

    /// <summary>In the server process: no worker's cost, and no containment.</summary>
    InProcess,
}
