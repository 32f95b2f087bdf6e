using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using NetVips;

namespace Asgilook.Bench;

/// <summary>
/// A bad day, for a bounded time, against a server behind a trusted proxy (its X-Forwarded-For believed):
/// trickled upload bodies, a flood of uploads, a thousand event streams and cache-busting list queries, each
/// from many made-up addresses as a botnet would send them, and the crafted inputs of the security review
/// (SVGs with embedded pictures, an SVG whose filters render past a worker's ceiling, BMPs with a 2 GiB pixel
/// offset, 100 MP PNGs from one client, the largest AVIF thumbnails of fresh 48 MP images), while one
/// well-behaved client (an address of its own) uploads and reads. Afterwards every upload it was told had
/// succeeded must be listed and decode. Prints one line per figure: <c>name value</c>, with the peak memory
/// of the server and its conversion workers together, sampled every 100 ms.
/// </summary>
internal static class BadDay
{
    private const int SlowBodies = 200;
    private const int Listeners = 1000;
    /// <summary>Concurrent 12 MP uploads from rotating addresses (a botnet at the service's capacity); BADDAY_FLOODERS overrides it (0: the crafted attacks alone).</summary>
    private static readonly int Flooders = int.TryParse(Environment.GetEnvironmentVariable("BADDAY_FLOODERS"), out var flooders) ? flooders : 6;
    private const int Bursters = 4;

    public static async Task<int> RunAsync(string baseUrl, string work, TimeSpan duration, int serverPid)
    {
        var uri = new Uri(baseUrl);
        using var stop = new CancellationTokenSource(duration);
        var peakKilobytes = 0L;
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peakKilobytes = Math.Max(peakKilobytes, TreeRssKilobytes(serverPid));
                await Task.Delay(100, CancellationToken.None);
            }
        });
        var crafted = Crafted.Make(work);
        var photo = File.ReadAllBytes(Path.Combine(work, Images.Photos[0].Name));
        var small = File.ReadAllBytes(Path.Combine(work, Images.Png1080));
        var attackers = new ConcurrentDictionary<string, int>();
        var good = new ConcurrentBag<(string Kind, bool Ok, double Milliseconds)>();
        var acknowledged = new ConcurrentBag<string>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2000, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = uri,
            Timeout = TimeSpan.FromSeconds(60),
        };

        var tasks = new List<Task>();
        tasks.AddRange(Enumerable.Range(0, SlowBodies).Select(i => TrickleAsync(uri, Bot(i), attackers, stop.Token)));
        tasks.AddRange(Enumerable.Range(0, Listeners).Select(i => ListenAsync(http, Bot(1000 + i), attackers, stop.Token)));
        tasks.AddRange(Enumerable.Range(0, Flooders).Select(i => FloodAsync(http, photo, i, attackers, stop.Token)));
        tasks.AddRange(Enumerable.Range(0, Bursters).Select(i => BustAsync(http, i, attackers, stop.Token)));
        tasks.AddRange(crafted.Select((attack, i) => CraftedAsync(http, attack.Name, attack.Bytes, attack.From, attackers, stop.Token)));
        tasks.Add(RenderAttackAsync(http, crafted.Single(attack => attack.Name == "render-source").Bytes, attackers, stop.Token));
        tasks.Add(BehaveAsync(http, small, good, acknowledged, stop.Token));
        await Task.WhenAll(tasks);
        await sampling;
        Console.WriteLine($"tree-peak-rss-mb {peakKilobytes / 1024}");

        foreach (var (kind, count) in attackers.OrderBy(pair => pair.Key))
        {
            Console.WriteLine($"attack-{kind} {count}");
        }

        foreach (var kind in good.Select(item => item.Kind).Distinct().Order())
        {
            var items = good.Where(item => item.Kind == kind).ToList();
            var latencies = items.Select(item => item.Milliseconds).Order().ToList();
            Console.WriteLine($"good-{kind}-requests {items.Count}");
            Console.WriteLine($"good-{kind}-success {100.0 * items.Count(item => item.Ok) / items.Count:0.0}");
            Console.WriteLine($"good-{kind}-p50-ms {latencies[latencies.Count / 2]:0.0}");
            Console.WriteLine($"good-{kind}-p99-ms {latencies[Math.Min(latencies.Count - 1, latencies.Count * 99 / 100)]:0.0}");
        }

        // Every upload the well-behaved client was answered 201 for is listed, and its JPEG decodes at its size.
        using var calm = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(60) };
        var listed = JsonDocument.Parse(await calm.GetStringAsync("/images")).RootElement.EnumerateArray()
            .ToDictionary(image => image.GetProperty("id").GetString()!, image => image);
        var broken = 0;
        foreach (var id in acknowledged)
        {
            if (!listed.TryGetValue(id, out var image))
            {
                broken++;
                continue;
            }

            using var decoded = Image.NewFromBuffer(await calm.GetByteArrayAsync(image.GetProperty("image").GetString()));
            var size = image.GetProperty("size");
            if (decoded.Width != size[0].GetInt32() || decoded.Height != size[1].GetInt32() || decoded.Avg() <= 0)
            {
                broken++;
            }
        }

        foreach (var line in (await calm.GetStringAsync("/metrics")).Split('\n').Where(line => line.StartsWith("asgilook_sandbox_workers", StringComparison.Ordinal)))
        {
            Console.WriteLine($"metric {line}");
        }

        Console.WriteLine($"acknowledged-uploads {acknowledged.Count}");
        Console.WriteLine($"acknowledged-but-missing-or-broken {broken}");
        return broken == 0 ? 0 : 1;
    }

    /// <summary>The resident memory of a process and its children (the server and its conversion workers), in KiB.</summary>
    private static long TreeRssKilobytes(int pid)
    {
        static long Rss(string pid)
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith("VmRSS:", StringComparison.Ordinal));
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                return 0;
            }
        }

        try
        {
            var children = Directory.GetDirectories($"/proc/{pid}/task")
                .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries));
            return Rss(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)) + children.Distinct().Sum(Rss);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The crafted inputs, each sent in a loop from one made-up address (the review's attacker is one client).</summary>
    private sealed record Crafted(string Name, byte[] Bytes, string From)
    {
        public static IReadOnlyList<Crafted> Make(string work)
        {
            using var side = Image.Black(8000, 8000, bands: 4);
            using var rgba = side.Cast(Enums.BandFormat.Uchar);
            var embedded = Convert.ToBase64String(rgba.PngsaveBuffer(compression: 9));
            using var huge = Image.Black(10_000, 10_000);
            using var hugeBytes = (huge + 128).Cast(Enums.BandFormat.Uchar);
            // A real photo at 48 MP (the largest whose every thumbnail rung is listed): its 12 MP AVIF is the costliest render there is.
            using var photo = Image.NewFromFile(Path.Combine(work, Images.Photos[1].Name));
            using var large = photo.ThumbnailImage(8000, height: 6000, size: Enums.Size.Force);
            var bmp = new byte[40];
            "BM"u8.CopyTo(bmp);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 0x7FFFFF00);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 1);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 1);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 8);
            const string Filter = "<filter id='f' x='0' y='0' width='1' height='1'><feGaussianBlur stdDeviation='50'/><feOffset dx='3'/><feMorphology radius='3'/></filter>";
            return
            [
                new("svg-embedded-picture", Encoding.UTF8.GetBytes(
                    $"<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'><image width='64' height='64' href='data:image/png;base64,{embedded}'/></svg>"), BadDay.Bot(7001)),
                new("svg-filter-bomb", Encoding.UTF8.GetBytes(
                    $"<svg xmlns='http://www.w3.org/2000/svg' width='9000' height='9000'>{Filter}<rect width='9000' height='9000' fill='red' filter='url(#f)'/>" +
                    "<rect width='9000' height='9000' fill='blue' opacity='0.5' filter='url(#f)'/></svg>"), BadDay.Bot(7002)),
                new("bmp-huge-offset", bmp, BadDay.Bot(7003)),
                new("png-100mp", hugeBytes.PngsaveBuffer(compression: 9), BadDay.Bot(7004)),
                new("png-100mp", hugeBytes.PngsaveBuffer(compression: 9), BadDay.Bot(7004)),
                new("render-source", large.JpegsaveBuffer(q: 85), BadDay.Bot(7005)),
            ];
        }
    }

    private static async Task CraftedAsync(HttpClient http, string name, byte[] body, string bot, ConcurrentDictionary<string, int> counts, CancellationToken stop)
    {
        if (name == "render-source")
        {
            return;
        }

        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(body), Headers = { { "X-Forwarded-For", bot } } };
                using var response = await http.SendAsync(request, stop);
                Count(counts, $"{name}-{(int)response.StatusCode}");
                if ((int)response.StatusCode == 429)
                {
                    await Task.Delay(500, stop); // a bot that waits a little is a bot that keeps its share full
                }
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
            {
            }
        }
    }

    /// <summary>Uploads a fresh 48 MP image and asks for its largest AVIF thumbnail (12 MP, the most listed), again and again.</summary>
    private static async Task RenderAttackAsync(HttpClient http, byte[] source, ConcurrentDictionary<string, int> counts, CancellationToken stop)
    {
        var bot = Bot(7006);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var upload = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(source), Headers = { { "X-Forwarded-For", bot } } };
                using var uploaded = await http.SendAsync(upload, stop);
                if (uploaded.StatusCode != HttpStatusCode.Created)
                {
                    Count(counts, $"render-source-{(int)uploaded.StatusCode}");
                    await Task.Delay(500, stop);
                    continue;
                }

                var id = JsonDocument.Parse(await uploaded.Content.ReadAsStringAsync(stop)).RootElement.GetProperty("id").GetString();
                using var render = new HttpRequestMessage(HttpMethod.Get, $"/thumbnails/{id}/4000x3000.avif") { Headers = { { "X-Forwarded-For", bot } } };
                using var rendered = await http.SendAsync(render, stop);
                Count(counts, $"render-avif-12mp-{(int)rendered.StatusCode}");
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
            {
            }
        }
    }

    private static string Bot(int i) => $"198.18.{i / 250}.{i % 250 + 1}";

    private static void Count(ConcurrentDictionary<string, int> counts, string kind) => counts.AddOrUpdate(kind, 1, (_, n) => n + 1);

    private static async Task TrickleAsync(Uri uri, string bot, ConcurrentDictionary<string, int> counts, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(uri.Host, uri.Port, stop);
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"POST /images HTTP/1.1\r\nHost: {uri.Authority}\r\nX-Forwarded-For: {bot}\r\nContent-Length: 30000000\r\n\r\n"), stop);
                Count(counts, "slow-bodies-opened");
                while (!stop.IsCancellationRequested)
                {
                    await stream.WriteAsync(new byte[16], stop);
                    await Task.Delay(1000, stop);
                }
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                Count(counts, "slow-bodies-cut-off");
                await Task.Delay(200, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task ListenAsync(HttpClient http, string bot, ConcurrentDictionary<string, int> counts, CancellationToken stop)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/events") { Headers = { { "X-Forwarded-For", bot } } };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
            Count(counts, $"events-{(int)response.StatusCode}");
            if (response.IsSuccessStatusCode)
            {
                await using var body = await response.Content.ReadAsStreamAsync(stop);
                var buffer = new byte[4096];
                while (await body.ReadAsync(buffer, stop) > 0)
                {
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
        {
        }
    }

    private static async Task FloodAsync(HttpClient http, byte[] photo, int flooder, ConcurrentDictionary<string, int> counts, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/images")
                {
                    Content = new ByteArrayContent(photo),
                    Headers = { { "X-Forwarded-For", Bot(3000 + (flooder * 997 + n) % 5000) } },
                };
                using var response = await http.SendAsync(request, stop);
                Count(counts, $"flood-{(int)response.StatusCode}");
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
            {
            }
        }
    }

    private static async Task BustAsync(HttpClient http, int buster, ConcurrentDictionary<string, int> counts, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/images?x={Guid.NewGuid()}&limit={1 + n % 1000}")
                {
                    Headers = { { "X-Forwarded-For", Bot(9000 + buster) } },
                };
                using var response = await http.SendAsync(request, stop);
                Count(counts, $"list-busting-{(int)response.StatusCode}");
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
            {
            }
        }
    }

    private static async Task BehaveAsync(
        HttpClient http, byte[] image, ConcurrentBag<(string, bool, double)> results, ConcurrentBag<string> acknowledged, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var clock = Stopwatch.StartNew();
                using var upload = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(image), Headers = { { "X-Forwarded-For", "203.0.113.7" } } };
                using var uploaded = await http.SendAsync(upload, stop);
                results.Add(("upload", uploaded.StatusCode == HttpStatusCode.Created, clock.Elapsed.TotalMilliseconds));
                if (uploaded.StatusCode != HttpStatusCode.Created)
                {
                    await Task.Delay(1000, stop);
                    continue;
                }

                var created = JsonDocument.Parse(await uploaded.Content.ReadAsStringAsync(stop)).RootElement;
                acknowledged.Add(created.GetProperty("id").GetString()!);
                foreach (var (kind, path) in new[] { ("thumbnail", created.GetProperty("thumbnails")[1].GetString()!), ("page", "/images?limit=20") })
                {
                    clock.Restart();
                    using var read = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "X-Forwarded-For", "203.0.113.7" } } };
                    using var answer = await http.SendAsync(read, stop);
                    await answer.Content.ReadAsByteArrayAsync(stop);
                    results.Add((kind, answer.StatusCode == HttpStatusCode.OK, clock.Elapsed.TotalMilliseconds));
                }

                await Task.Delay(500, stop); // about one upload a second: well within its 60 a minute
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpRequestException)
            {
                results.Add(("upload", false, 0));
            }
        }
    }
}
