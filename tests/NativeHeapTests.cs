using Asgilook.Imaging;

namespace Asgilook.Tests;

/// <summary>The native heap settings reach glibc (a wrong library name fails silently otherwise: it did once).</summary>
public sealed class NativeHeapTests
{
    [Fact]
    public void OnGlibcLargeBlocksGetTheirOwnMappingUnlessTheEnvironmentSaysOtherwise()
    {
        var set = NativeHeap.MapLargeBlocks();
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null && File.Exists("/lib/x86_64-linux-gnu/libc.so.6"))
        {
            Assert.True(set);
        }
        else
        {
            Assert.False(set);
        }

        NativeHeap.Trim(); // at most once a second, and never throws
        NativeHeap.Trim();
    }
}
