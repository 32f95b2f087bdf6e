using System.Diagnostics;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Thumbnails;
using Microsoft.Extensions.Options;
using NetVips;

namespace Asgilook.Bench;

/// <summary>
/// How the thumbnail encoders were set: every rung of every corpus image rendered once, encoded as a JPEG at
/// Asgilook's q85 and as WebP and AVIF over a range of qualities, each compared with the rung's pixels by SSIM
/// (on luminance, 8×8 windows). The quality chosen for a format is the lowest whose mean SSIM is at least the
/// JPEG's: the same look, fewer bytes (WebP at effort 2 and AVIF at effort 0: both sizes within 2 % of the slower
/// efforts here, at half to a twentieth of the time). Prints every quality's SSIM, bytes and encode time, then the choice.
/// </summary>
internal static class ThumbnailFormats
{
    public static int Run(string work)
    {
        var processor = new VipsImageProcessor(Options.Create(new AsgilookOptions()));
        string[] corpus = [Images.Photos[0].Name, Images.Photos[1].Name, Images.Png1080];
        var rungs = new List<Image>();
        foreach (var name in corpus)
        {
            var stored = processor.ConvertToJpeg(File.ReadAllBytes(Path.Combine(work, name)), long.MaxValue);
            foreach (var (width, height) in ThumbnailSeries.Sizes(stored.Width, stored.Height, ThumbnailLadder.Of(new AsgilookOptions())))
            {
                using var lazy = Image.ThumbnailBuffer(stored.Jpeg, width, height: height, size: Enums.Size.Force);
                rungs.Add(lazy.CopyMemory());
            }
        }

        Console.WriteLine($"{rungs.Count} rungs of {corpus.Length} images");
        var jpeg = Measure("jpeg", 85, rungs, (image, q) => image.JpegsaveBuffer(q: q, keep: Enums.ForeignKeep.None));
        var webp = Enumerable.Range(10, 9).Select(step => Measure("webp", step * 5, rungs, (image, q) => image.WebpsaveBuffer(q: q, effort: 2, keep: Enums.ForeignKeep.None))).ToArray();
        var avif = Enumerable.Range(6, 11).Select(step => Measure("avif", step * 5, rungs, (image, q) =>
            image.HeifsaveBuffer(q: q, compression: Enums.ForeignHeifCompression.Av1, effort: 0, keep: Enums.ForeignKeep.None))).ToArray();
        foreach (var (name, series) in new[] { ("webp", webp), ("avif", avif) })
        {
            var chosen = series.FirstOrDefault(m => m.Ssim >= jpeg.Ssim) ?? series[^1];
            Console.WriteLine($"chosen {name} q{chosen.Quality}: SSIM {chosen.Ssim:0.0000} (JPEG q85 {jpeg.Ssim:0.0000}), " +
                $"{100.0 * chosen.Bytes / jpeg.Bytes:0} % of the JPEG bytes, {chosen.Milliseconds / jpeg.Milliseconds:0.0}x its encode time");
        }

        foreach (var rung in rungs)
        {
            rung.Dispose();
        }

        return 0;
    }

    private sealed record Measurement(int Quality, double Ssim, long Bytes, double Milliseconds);

    private static Measurement Measure(string format, int quality, List<Image> rungs, Func<Image, int, byte[]> encode)
    {
        double ssim = 0, milliseconds = 0;
        long bytes = 0;
        foreach (var rung in rungs)
        {
            var clock = Stopwatch.StartNew();
            var encoded = encode(rung, quality);
            milliseconds += clock.Elapsed.TotalMilliseconds;
            bytes += encoded.Length;
            using var decoded = Image.NewFromBuffer(encoded);
            ssim += Ssim(rung, decoded);
        }

        var measured = new Measurement(quality, ssim / rungs.Count, bytes, milliseconds);
        Console.WriteLine($"{format} q{quality}: SSIM {measured.Ssim:0.0000}, {bytes / 1024} KiB, {milliseconds:0} ms encoding");
        return measured;
    }

    private static double Ssim(Image a, Image b)
    {
        using var greyA = a.Colourspace(Enums.Interpretation.Bw);
        using var greyB = b.Colourspace(Enums.Interpretation.Bw);
        var x = greyA.ExtractBand(0).Cast(Enums.BandFormat.Uchar).WriteToMemory<byte>();
        var y = greyB.ExtractBand(0).Cast(Enums.BandFormat.Uchar).WriteToMemory<byte>();
        const double c1 = 6.5025, c2 = 58.5225; // (0.01·255)², (0.03·255)²
        var (width, height) = (a.Width, a.Height);
        double total = 0;
        var windows = 0;
        for (var top = 0; top + 8 <= height; top += 8)
        {
            for (var left = 0; left + 8 <= width; left += 8)
            {
                double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
                for (var row = top; row < top + 8; row++)
                {
                    for (var column = left; column < left + 8; column++)
                    {
                        double p = x[(row * width) + column], q = y[(row * width) + column];
                        (sx, sy, sxx, syy, sxy) = (sx + p, sy + q, sxx + (p * p), syy + (q * q), sxy + (p * q));
                    }
                }

                var (mx, my) = (sx / 64, sy / 64);
                var (vx, vy, cov) = ((sxx / 64) - (mx * mx), (syy / 64) - (my * my), (sxy / 64) - (mx * my));
                total += ((2 * mx * my) + c1) * ((2 * cov) + c2) / (((mx * mx) + (my * my) + c1) * (vx + vy + c2));
                windows++;
            }
        }

        return total / windows;
    }
}
