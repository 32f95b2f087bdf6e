using System.Diagnostics;
using System.Globalization;
using NetVips;

namespace Asgilook.Bench;

/// <summary>
/// The inputs of bench/community.sh and the limit of an animated upload: distinct 1920×1080 JPEGs (crops of the
/// 12 MP photo at different offsets, so that no two are one content), and animated GIFs of a moving photo at several
/// frame counts; the limit is plain NetVips doing what an animated upload needs at the least (the first frame as a
/// JPEG, every frame at half size into an animated WebP), per GIF.
/// </summary>
internal static class Community
{
    public static readonly int[] FrameCounts = [10, 40, 160];
    public const int GifWidth = 480;
    public const int GifHeight = 270;

    public static int Prepare(string images, int distinct)
    {
        var folder = Path.Combine(images, "distinct");
        Directory.CreateDirectory(folder);
        using var photo = Image.NewFromFile(Path.Combine(images, "photo-12mp.jpg"));
        for (var i = 0; i < distinct; i++)
        {
            var path = Path.Combine(folder, $"{i:D4}.jpg");
            if (!File.Exists(path))
            {
                using var crop = photo.Crop(i * 7 % (photo.Width - 1920), i * 5 % (photo.Height - 1080), 1920, 1080);
                crop.Jpegsave(path, q: 90);
            }
        }

        foreach (var frames in FrameCounts)
        {
            var path = Path.Combine(images, $"animated-{frames}.gif");
            if (File.Exists(path))
            {
                continue;
            }

            using var small = photo.ThumbnailImage(GifWidth * 2, height: GifHeight * 2);
            var pages = Enumerable.Range(0, frames).Select(n => small.Crop(n * 3 % (small.Width - GifWidth), n * 2 % (small.Height - GifHeight), GifWidth, GifHeight)).ToArray();
            using var strip = Image.Arrayjoin(pages, across: 1);
            using var animation = strip.Mutate(image =>
            {
                image.Set(GValue.GIntType, "page-height", GifHeight);
                image.Set(GValue.ArrayIntType, "delay", Enumerable.Repeat(40, frames).ToArray());
                image.Set(GValue.GIntType, "loop", 0);
            });
            animation.Gifsave(path);
            foreach (var page in pages)
            {
                page.Dispose();
            }
        }

        Console.WriteLine($"{distinct} distinct JPEGs and GIFs of {string.Join(", ", FrameCounts)} frames in {images}");
        return 0;
    }

    /// <summary>Prints "frames milliseconds" per GIF: the median of <paramref name="runs"/> plain conversions, one core.</summary>
    public static int Limit(string images, int runs)
    {
        NetVips.NetVips.Concurrency = 1; // as the shipped VipsThreads
        foreach (var frames in FrameCounts)
        {
            var gif = File.ReadAllBytes(Path.Combine(images, $"animated-{frames}.gif"));
            var times = new List<double>();
            for (var run = 0; run < runs; run++)
            {
                var clock = Stopwatch.StartNew();
                using (var first = Image.GifloadBuffer(gif))
                {
                    _ = first.JpegsaveBuffer(q: 85);
                }

                using (var all = Image.ThumbnailBuffer(gif, GifWidth / 2, optionString: "n=-1", height: GifHeight / 2, size: Enums.Size.Force))
                {
                    _ = all.WebpsaveBuffer(q: 85, effort: 2);
                }

                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            times.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{frames} {times[times.Count / 2]:0.0}"));
        }

        return 0;
    }
}

/// <summary>
/// What storing identical uploads once adds to an upload of new content, on the catalog alone: the lookup of the
/// content (a write transaction under the content's lock, found nothing, rolled back) before the bytes are written,
/// and the add after them, against the limit: one plain Microsoft.Data.Sqlite INSERT as the catalog was before
/// (WAL, synchronous=FULL, a pooled connection), the row's insert with nothing else.
/// </summary>
internal static class CatalogCost
{
    public static async Task<int> RunAsync(string folder, int count)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"catalog-{Guid.NewGuid():N}.db");
        Asgilook.Storage.IImageCatalog catalog = new Asgilook.Storage.SqliteImageCatalog(path);
        await catalog.MigrateAsync(CancellationToken.None);
        var start = DateTimeOffset.UtcNow;
        Asgilook.Storage.StoredImage Image(int n) => new(Guid.NewGuid(), 1920, 1080, start.AddMilliseconds(n), 500_000, $"{n:x64}");
        for (var n = 0; n < count; n++)
        {
            await catalog.AddAsync(Image(n), Asgilook.Quotas.Quota.None, bytesWritten: true, CancellationToken.None); // a catalog that holds some images already
        }

        var lookups = Stopwatch.StartNew();
        for (var n = 0; n < count; n++)
        {
            await catalog.AddAsync(Image(count + n), Asgilook.Quotas.Quota.None, bytesWritten: false, CancellationToken.None);
        }

        lookups.Stop();
        var adds = Stopwatch.StartNew();
        for (var n = 0; n < count; n++)
        {
            await catalog.AddAsync(Image(2 * count + n), Asgilook.Quotas.Quota.None, bytesWritten: true, CancellationToken.None);
        }

        adds.Stop();
        var plain = Stopwatch.StartNew();
        var connectionString = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        for (var n = 0; n < count; n++)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous = FULL; INSERT INTO images (id, width, height, uploaded_at, byte_length, sha256) VALUES ($id, 1920, 1080, $at, 500000, $sha);";
            command.Parameters.AddWithValue("$id", Guid.NewGuid().ToString());
            command.Parameters.AddWithValue("$at", start.AddMilliseconds(3 * count + n).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$sha", $"{3 * count + n:x64}");
            await command.ExecuteNonQueryAsync();
        }

        plain.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{lookups.Elapsed.TotalMilliseconds / count:0.000} {adds.Elapsed.TotalMilliseconds / count:0.000} {plain.Elapsed.TotalMilliseconds / count:0.000}"));
        return 0;
    }
}
