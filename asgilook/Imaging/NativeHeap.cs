using System.Runtime.InteropServices;

namespace Asgilook.Imaging;

/// <summary>
/// glibc gives each thread that contends for the heap an arena of its own, up to eight per core, and
/// keeps what each arena freed: libvips decodes on many threads, so a server's native heap grows with
/// every busy period and stays grown. Two arenas hold it down (bench/RESULTS.md: the whole pass's peak
/// 437 → 335 MiB) at no cost in throughput, as libvips' own documentation advises with MALLOC_ARENA_MAX.
/// </summary>
public static partial class NativeHeap
{
    public const int Arenas = 2;

    private const int ArenaMax = -8; // M_ARENA_MAX in malloc.h

    /// <summary>Caps glibc's arenas, unless MALLOC_ARENA_MAX says otherwise; does nothing off glibc.</summary>
    /// <returns>Whether the cap was set here.</returns>
    public static bool CapArenas()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is { Length: > 0 })
        {
            return false;
        }

        try
        {
            return Mallopt(ArenaMax, Arenas) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl and others: no arenas to cap
        }
    }

    /// <summary>A trim costs milliseconds (it walks every arena): once a second is enough to keep the heap down.</summary>
    public static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(1);

    private static int _trimmable = OperatingSystem.IsLinux() ? 1 : 0;
    private static long _nextTrim;

    /// <summary>
    /// Gives the native heap's free pages back to the system (glibc's malloc_trim) at most once per
    /// <see cref="TrimInterval"/>, after image work; does nothing off glibc.
    /// </summary>
    public static void Trim()
    {
        var now = Environment.TickCount64;
        var due = Interlocked.Read(ref _nextTrim);
        if (Volatile.Read(ref _trimmable) == 0 || now < due
            || Interlocked.CompareExchange(ref _nextTrim, now + (long)TrimInterval.TotalMilliseconds, due) != due)
        {
            return;
        }

        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref _trimmable, 0);
        }
    }

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
