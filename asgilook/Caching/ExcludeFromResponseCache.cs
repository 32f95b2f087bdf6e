namespace Asgilook.Caching;

/// <summary>
/// Endpoint metadata keeping a route out of the response cache. Originals are streamed from disk;
/// caching them as their (empty) buffered body is the bug the tutorial's own note warns about.
/// </summary>
public sealed class ExcludeFromResponseCache
{
    public static readonly ExcludeFromResponseCache Instance = new();

    private ExcludeFromResponseCache()
    {
    }
}
