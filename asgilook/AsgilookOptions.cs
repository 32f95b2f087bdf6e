using System.ComponentModel.DataAnnotations;

namespace Asgilook;

/// <summary>
/// The service's settings, bound from the <c>Asgilook</c> configuration section
/// (appsettings.json, <c>Asgilook__X</c> environment variables, <c>--Asgilook:X=...</c>)
/// and from the tutorial's <c>ASGI_LOOK_*</c> variables (see <see cref="TutorialEnvironmentVariables"/>).
/// </summary>
public sealed class AsgilookOptions
{
    public const string SectionName = "Asgilook";

    public static readonly string DefaultStoragePath = Path.Combine(Path.GetTempPath(), "asgilook");

    /// <summary>The folder holding the stored JPEGs; created at startup if missing.</summary>
    [Required(AllowEmptyStrings = false)]
    public string StoragePath { get; set; } = DefaultStoragePath;

    /// <summary>
    /// Where the response cache lives, as <c>redis://[:password@]host[:port][/db]</c> or a
    /// StackExchange.Redis configuration string. Unset: an in-process memory cache.
    /// </summary>
    public string? RedisHost { get; set; }

    /// <summary>The smallest width or height a listed thumbnail may have.</summary>
    [Range(1, 100_000)]
    public int MinThumbSize { get; set; } = 64;

    /// <summary>The budget of the in-process response cache, used when no Redis is configured.</summary>
    [Range(1, 64 * 1024)]
    public int MemoryCacheMegabytes { get; set; } = 128;
}
