namespace Asgilook.Imaging;

/// <summary>What an upload became: the stored JPEG, its placeholder and its hash, all derived from the untrusted bytes in one place.</summary>
/// <param name="Sha256">The content's SHA-256, lowercase hex: of the JPEG, and of the animation after it when there is one
/// (two animations with the same first frame are not the same content).</param>
public sealed record UploadConversion(ConvertedImage Image, Placeholder Placeholder, string Sha256)
{
    public static UploadConversion Of(ConvertedImage image, Placeholder placeholder)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(image.Jpeg);
        if (image.Animation is { } animation)
        {
            sha.AppendData(animation.Webp);
        }

        return new UploadConversion(image, placeholder, System.Convert.ToHexStringLower(sha.GetHashAndReset()));
    }
}

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
