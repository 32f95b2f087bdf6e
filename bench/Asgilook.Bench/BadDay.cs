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
/// from many made-up addresses as a botnet would send them, while one well-behaved client (an address of its
/// own) uploads and reads. Afterwards every upload it was told had succeeded must be listed and decode.
/// Prints one line per figure: <c>name value</c>.
/// </summary>
internal static class BadDay
{
    private const int SlowBodies = 200;
    private const int Listeners = 1000;
    private const int Flooders = 6;
    private const int Bursters = 4;

    public static async Task<int> RunAsync(string baseUrl, string work, TimeSpan duration)
    {
        var uri = new Uri(baseUrl);
        using var stop = new CancellationTokenSource(duration);
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
        tasks.Add(BehaveAsync(http, small, good, acknowledged, stop.Token));
        await Task.WhenAll(tasks);

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

        Console.WriteLine($"acknowledged-uploads {acknowledged.Count}");
        Console.WriteLine($"acknowledged-but-missing-or-broken {broken}");
        return broken == 0 ? 0 : 1;
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
