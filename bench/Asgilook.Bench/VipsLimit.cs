using System.Diagnostics;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Thumbnails;
using Microsoft.Extensions.Options;

namespace Asgilook.Bench;

/// <summary>
/// Asgilook's own engine (<see cref="VipsImageProcessor"/> unless another engine is named), with no HTTP,
/// store, cache or worker, run on every core at once: the second line beside the honest limit
/// (<see cref="PlainVips"/>), which tells what the engine adds to libvips. Prints
/// <c>name ops_per_second cpu_ms_per_op</c>; an upload is the conversion and its placeholder, as a worker runs them.
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

        var large = File.ReadAllBytes(Path.Combine(work, Images.Photos[1].Name));
        var converter = new InProcessConverter(processor, options);
        Report("convert-1080p-png", duration, () => converter.Convert(png));
        Report("convert-12mp-jpeg", duration, () => converter.Convert(photo));
        Report("convert-24mp-jpeg", duration, () => converter.Convert(large));
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

    private static double Report(string name, TimeSpan duration, Action operation) => PlainVips.Report(name, duration, operation);
}
