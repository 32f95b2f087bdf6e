using System.Diagnostics;

namespace Asgilook.Tests;

/// <summary>
/// Files in the formats Asgilook reads through its fallback decoder, made at test time by the formats' own
/// tools from Debian, which test.sh installs: ImageMagick's <c>convert</c>, libheif's <c>heif-enc</c> (which
/// encodes HEVC with x265, like a phone), libjxl's <c>cjxl</c>, OpenJPEG's <c>opj_compress</c> and netpbm.
/// </summary>
public static class FormatTools
{
    /// <summary>ImageMagick: <c>convert input.png {options} output</c>, e.g. <c>BMP3:out.bmp</c>.</summary>
    public static byte[] Convert(byte[] png, string output, params string[] options) =>
        Run("/usr/bin/convert", png, "input.png", output, (input, result) => [input, .. options, result]);

    /// <summary>HEIC coded with HEVC, from a PNG (its ICC profile is kept) or a JPEG (its EXIF is kept).</summary>
    public static byte[] Heic(byte[] image, int quality = 90) =>
        Run("heif-enc", image, TestImages.FormatOf(image).StartsWith("jpeg", StringComparison.Ordinal) ? "input.jpg" : "input.png",
            "output.heic", (input, output) => ["-q", quality.ToString(System.Globalization.CultureInfo.InvariantCulture), input, "-o", output]);

    public static byte[] JpegXl(byte[] png, bool lossless = false) =>
        Run("cjxl", png, "input.png", "output.jxl", (input, output) => [input, output, "-d", lossless ? "0" : "1"]);

    /// <summary>JPEG 2000 in its JP2 container, or the bare codestream (<c>.j2k</c>).</summary>
    public static byte[] Jpeg2000(byte[] png, bool codestream = false) =>
        Run("opj_compress", png, "input.png", codestream ? "output.j2k" : "output.jp2", (input, output) => ["-i", input, "-o", output]);

    /// <summary>netpbm: the PNG as a PPM, then through the <paramref name="filters"/> (e.g. <c>ppmtotga</c>).</summary>
    public static byte[] Netpbm(byte[] png, params string[] filters)
    {
        var ppm = Run("pngtopnm", png, "input.png", "-", (input, _) => [input]);
        foreach (var filter in filters)
        {
            var words = filter.Split(' ');
            ppm = Run(words[0], ppm, "input.pnm", "-", (input, _) => [.. words[1..], input]);
        }

        return ppm;
    }

    /// <summary>Runs <paramref name="tool"/> in a fresh folder; <paramref name="outputName"/> "-" takes its standard output.</summary>
    private static byte[] Run(string tool, byte[] input, string inputName, string outputName, Func<string, string, string[]> arguments)
    {
        using var folder = new TemporaryFolder("asgilook-formats-");
        var inputPath = Path.Combine(folder.Path, inputName);
        var outputPath = Path.Combine(folder.Path, outputName.Contains(':') ? outputName.Split(':')[1] : outputName);
        File.WriteAllBytes(inputPath, input);
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder.Path,
        };
        var target = outputName == "-" ? outputName : outputName.Contains(':') ? $"{outputName.Split(':')[0]}:{outputPath}" : outputPath;
        foreach (var argument in arguments(inputPath, target))
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed; test.sh installs it.", e);
        }

        using (process)
        {
            using var stdout = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
            var errors = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            copy.Wait();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {errors.Result}");
            }

            return outputName == "-" ? stdout.ToArray() : File.ReadAllBytes(outputPath);
        }
    }
}
