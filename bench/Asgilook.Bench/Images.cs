using NetVips;

namespace Asgilook.Bench;

/// <summary>
/// The benchmark's images, made from real camera photos (Debian's plasma-workspace-wallpapers):
/// scaled up with Lanczos to about 12 and 24 megapixels as JPEGs that keep their EXIF and ICC profile
/// (as phone photos carry them), and a 1920×1080 PNG.
/// </summary>
internal static class Images
{
    public static readonly (string Name, int Width, int Height)[] Photos =
    [
        ("photo-12mp.jpg", 4240, 2832),
        ("photo-24mp.jpg", 6000, 4000),
    ];

    public const string Png1080 = "screen-1080p.png";
    public const string Tiny = "tiny.png";

    public static int Prepare(string work, string photos)
    {
        Directory.CreateDirectory(work);
        var sources = photos.Split(',');
        for (var i = 0; i < Photos.Length; i++)
        {
            var (name, width, height) = Photos[i];
            using var source = Image.NewFromFile(sources[i % sources.Length]);
            using var scaled = source.Resize((double)width / source.Width, vscale: (double)height / source.Height, kernel: Enums.Kernel.Lanczos3);
            scaled.Jpegsave(Path.Combine(work, name), q: 92, keep: Enums.ForeignKeep.All);
        }

        using (var screen = Image.Thumbnail(sources[0], 1920, height: 1080, size: Enums.Size.Force))
        {
            screen.Pngsave(Path.Combine(work, Png1080));
        }

        using (var tiny = Image.Thumbnail(sources[0], 64, height: 48, size: Enums.Size.Force))
        {
            tiny.Pngsave(Path.Combine(work, Tiny));
        }

        foreach (var file in Directory.GetFiles(work))
        {
            using var image = Image.NewFromFile(file);
            Console.WriteLine($"{Path.GetFileName(file)}: {image.Width}x{image.Height}, {new FileInfo(file).Length / 1024} KiB");
        }

        return 0;
    }
}
