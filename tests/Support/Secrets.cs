namespace Asgilook.Tests;

/// <summary>
/// The suite's leak check: every credential the tests use or are handed (keys, delete tokens) and every
/// log line the apps and servers write go to files under <c>ASGILOOK_TEST_LOGS</c> (set by test.sh), and
/// test.sh fails when any log line holds any credential.
/// </summary>
public static class Secrets
{
    /// <summary>Keys the tests configure, all recognisable by this prefix.</summary>
    public const string KeyPrefix = "asgilook-test-secret-";

    public static readonly string AdminKey = KeyPrefix + "admin-0123456789";
    public static readonly string UploadKey = KeyPrefix + "upload-0123456789";
    public static readonly string OtherUploadKey = KeyPrefix + "upload-other-0123456789";

    private static readonly string? Folder = Environment.GetEnvironmentVariable("ASGILOOK_TEST_LOGS");
    private static readonly Lock Writing = new();

    static Secrets()
    {
        if (Folder is not null)
        {
            Directory.CreateDirectory(Folder);
            Remember(AdminKey);
            Remember(UploadKey);
            Remember(OtherUploadKey);
        }
    }

    public static void Remember(string secret) => Append("secrets.txt", secret);

    public static void Logged(string line) => Append("logs.txt", line);

    private static void Append(string file, string line)
    {
        if (Folder is null)
        {
            return;
        }

        lock (Writing)
        {
            File.AppendAllText(Path.Combine(Folder, file), line.ReplaceLineEndings(" ") + "\n");
        }
    }
}
