namespace Asgilook.Tests;

/// <summary>
/// The <c>Needs</c> trait: what a test needs beyond this test process, so that <c>./test.sh --fast</c> can leave it out.
/// Tests without it run the app in-process (TestHost or Kestrel on loopback) and need no other server.
/// </summary>
public static class Needs
{
    public const string Trait = "Needs";

    /// <summary>A redis-server of its own.</summary>
    public const string Redis = "Redis";

    /// <summary>A PostgreSQL server of its own.</summary>
    public const string PostgreSQL = "PostgreSQL";

    /// <summary>A real S3 server of its own (Ceph radosgw, started by <c>deploy/s3-local.sh</c>).</summary>
    public const string S3 = "S3";

    /// <summary>Other processes: the service as its own process, nginx, Chromium, the .NET SDK, the example scripts' tools.</summary>
    public const string Processes = "Processes";
}
