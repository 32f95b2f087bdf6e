namespace Asgilook.Imaging;

/// <summary>What an upload became: the stored JPEG, its placeholder and its hash, all derived from the untrusted bytes in one place.</summary>
/// <param name="Sha256">The JPEG's SHA-256, lowercase hex.</param>
public sealed record UploadConversion(ConvertedImage Image, Placeholder Placeholder, string Sha256);

/// <summary>
/// Turns an upload's untrusted bytes into the JPEG Asgilook stores. The default runs every decoder in a
/// worker process with a memory ceiling and a deadline (<see cref="Sandbox.SandboxedConverter"/>); the
/// worker itself, and a server set to <c>UploadDecoding=InProcess</c>, convert here (<see cref="InProcessConverter"/>).
/// </summary>
public interface IUploadConverter
{
    /// <summary>Synchronous and CPU-bound (or blocked on a worker): called on a conversion thread, never the thread pool.</summary>
    /// <exception cref="RejectedImageException">The bytes are not an image Asgilook takes, or converting them passed a limit.</exception>
    UploadConversion Convert(byte[] upload);
}
