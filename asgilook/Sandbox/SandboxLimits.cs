using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Asgilook.Sandbox;

/// <summary>
/// The limits a conversion worker puts on itself before it reads its first upload, enforced by the kernel
/// (Linux; elsewhere only the server's watch holds): a ceiling on its writable memory (RLIMIT_DATA: an
/// allocation past it fails, whichever library asks), a CPU-time limit renewed before each job (RLIMIT_CPU:
/// a decoder spinning past it is killed even if the server's watch missed it), no core dumps of hostile
/// content, and first in line for the kernel's out-of-memory killer, so that under memory pressure a worker
/// is killed before the server is.
/// </summary>
internal static class SandboxLimits
{
    private const int RlimitCpu = 0;
    private const int RlimitData = 2;
    private const int RlimitCore = 4;

    /// <summary>Applies the memory ceiling, no core dumps and the out-of-memory preference; false where the platform has none of them.</summary>
    public static bool Apply(long dataBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        SetLimit(RlimitCore, 0, 0);
        SetLimit(RlimitData, (ulong)dataBytes, (ulong)dataBytes);
        try
        {
            File.WriteAllText("/proc/self/oom_score_adj", "1000");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Raising one's own score needs no privilege; a system without the file has no such killer.
        }

        return true;
    }

    /// <summary>Allows the next job <paramref name="budget"/> of CPU time beyond what the worker has used so far.</summary>
    public static void AllowCpu(TimeSpan budget)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var self = Process.GetCurrentProcess();
        var seconds = (ulong)Math.Ceiling((self.TotalProcessorTime + budget).TotalSeconds);
        // Past the soft limit the kernel sends SIGXCPU (which ends the worker); the hard one stays unlimited so it can be renewed.
        SetLimit(RlimitCpu, seconds, ulong.MaxValue);
    }

    private static void SetLimit(int resource, ulong soft, ulong hard)
    {
        var limit = new Rlimit { Current = soft, Maximum = hard };
        if (SetRlimit(resource, ref limit) != 0)
        {
            throw new InvalidOperationException($"setrlimit({resource}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc.so.6", EntryPoint = "setrlimit", SetLastError = true)]
    private static extern int SetRlimit(int resource, ref Rlimit limit);
}
