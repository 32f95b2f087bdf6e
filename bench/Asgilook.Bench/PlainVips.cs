using System.Diagnostics;
using NetVips;

namespace Asgilook.Bench;

/// <summary>
/// The honest limit: libvips alone doing the minimum, written here with plain NetVips calls and none of
/// Asgilook's code, so that nothing the service adds sits on both sides of a ratio. An upload is load →
/// autorotate → sRGB (through the embedded profile when there is one) → flatten → 8 bits → JPEG q85 without
/// metadata; a thumbnail is <c>thumbnail_buffer</c> (shrink-on-load) at the exact size → JPEG q85. Run on every
/// core at once; prints <c>name ops_per_second cpu_ms_per_op</c>.
/// </summary>
internal static class PlainVips
{
    public static int Run(string work, TimeSpan duration)
    {
        Cache.Max = 0;
        NetVips.NetVips.Concurrency = 1;
        var png = File.ReadAllBytes(Path.Combine(work, Images.Png1080));
        var photo = File.ReadAllBytes(Path.Combine(work, Images.Photos[0].Name));
        var large = File.ReadAllBytes(Path.Combine(work, Images.Photos[1].Name));
        var stored = Convert(photo);
        using var header = Image.NewFromBuffer(stored);
        var sizes = Enumerable.Range(1, 10).Select(i => (Width: header.Width >> i, Height: header.Height >> i))
            .Where(size => size.Width >= 64 && size.Height >= 64).ToArray();

        Report("plain-convert-1080p-png", duration, () => Convert(png));
        Report("plain-convert-12mp-jpeg", duration, () => Convert(photo));
        Report("plain-convert-24mp-jpeg", duration, () => Convert(large));
        var series = Report("plain-thumbnail-series-12mp", duration, () =>
        {
            foreach (var (width, height) in sizes)
            {
                using var thumbnail = Image.ThumbnailBuffer(stored, width, height: height, size: Enums.Size.Force);
                thumbnail.JpegsaveBuffer(q: 85, keep: Enums.ForeignKeep.None);
            }
        });
        Console.WriteLine($"plain-thumbnail-12mp {series * sizes.Length:0.0}");
        return 0;
    }

    private static byte[] Convert(byte[] upload)
    {
        using var image = Image.NewFromBuffer(upload, access: Enums.Access.Sequential);
        using var upright = image.Autorot();
        using var srgb = upright.Contains("icc-profile-data")
            ? upright.IccTransform("srgb", embedded: true, intent: Enums.Intent.Perceptual)
            : upright.Colourspace(Enums.Interpretation.Srgb);
        using var flat = srgb.HasAlpha() ? srgb.Flatten(background: [255, 255, 255]) : srgb.Copy();
        using var eightBit = flat.Cast(Enums.BandFormat.Uchar);
        return eightBit.JpegsaveBuffer(q: 85, keep: Enums.ForeignKeep.None);
    }

    /// <summary>Runs the operation on every core for the duration; prints its rate and the CPU one costs.</summary>
    internal static double Report(string name, TimeSpan duration, Action operation)
    {
        operation(); // warm up
        var count = 0L;
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
        {
            while (clock.Elapsed < duration)
            {
                operation();
                Interlocked.Increment(ref count);
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        var perSecond = count / clock.Elapsed.TotalSeconds;
        self.Refresh();
        var cpuPerOperation = (self.TotalProcessorTime - cpu).TotalMilliseconds / Math.Max(1, count);
        Console.WriteLine($"{name} {perSecond:0.0} {cpuPerOperation:0.0}");
        return perSecond;
    }
}
