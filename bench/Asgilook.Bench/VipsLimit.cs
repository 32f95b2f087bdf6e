using System.Diagnostics;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Thumbnails;
using Microsoft.Extensions.Options;

namespace Asgilook.Bench;

/// <summary>
/// The raw limit: Asgilook's own engine calls (<see cref="VipsImageProcessor"/> unless another engine is
/// named), with no HTTP, store or cache, run on every core at once. Prints one line per operation:
/// <c>name ops_per_second</c>.
/// </summary>
internal static class VipsLimit
{
    public static int Run(string work, TimeSpan duration, ImageEngine engine = ImageEngine.Vips)
    {
        var options = Options.Create(new AsgilookOptions());
        IImageProcessor processor = engine == ImageEngine.ImageSharp ? new ImageSharpImageProcessor(options) : new VipsImageProcessor(options);
        var png = File.ReadAllBytes(Path.Combine(work, Images.Png1080));
        var photo = File.ReadAllBytes(Path.Combine(work, Images.Photos[0].Name));
        var stored = processor.ConvertToJpeg(photo, long.MaxValue);
        var sizes = ThumbnailSeries.Sizes(stored.Width, stored.Height, ThumbnailLadder.Of(new AsgilookOptions())).ToArray();

        Report("convert-1080p-png", duration, () => processor.ConvertToJpeg(png, long.MaxValue));
        Report("convert-12mp-jpeg", duration, () => processor.ConvertToJpeg(photo, long.MaxValue));
        // One "operation" renders every listed size once, as the thumbnail-miss workload requests them.
        var perSeries = Report("thumbnail-series-12mp", duration, () =>
        {
            foreach (var (width, height) in sizes)
            {
                processor.Thumbnail(stored.Jpeg, width, height);
            }
        });
        Console.WriteLine($"thumbnail-12mp {perSeries * sizes.Length:0.0}");
        Console.WriteLine($"thumbnail-sizes {sizes.Length}");
        return 0;
    }

    private static double Report(string name, TimeSpan duration, Action operation)
    {
        operation(); // warm up
        var count = 0L;
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
        Console.WriteLine($"{name} {perSecond:0.0}");
        return perSecond;
    }
}
