using System.Net;
using System.Net.Sockets;

namespace Asgilook.Tests;

/// <summary>For tests that run real servers on this machine: free ports, and bounded waiting.</summary>
public static class Loopback
{
    // Below Linux's ephemeral range (32768-60999): the system gives ports from that range to every
    // outgoing connection and every bind to port 0, so a server stopped and started again on its port
    // (Redis and PostgreSQL outage tests) could find it taken by another test's socket or server.
    private const int FirstPort = 20000;
    private const int LastPort = 32000;
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A loopback port nothing listens on, never handed out twice in this test run.</summary>
    public static int FreePort() => FreePorts(1);

    /// <summary>The first of <paramref name="count"/> consecutive free ports, none handed out before in this run.</summary>
    public static int FreePorts(int count)
    {
        lock (HandedOut)
        {
            while (true)
            {
                var first = Random.Shared.Next(FirstPort, LastPort - count);
                var ports = Enumerable.Range(first, count).ToList();
                if (ports.All(port => !HandedOut.Contains(port) && CanBind(port)))
                {
                    HandedOut.UnionWith(ports);
                    return first;
                }
            }
        }
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Whether something accepts TCP connections on that loopback port.</summary>
    public static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="failure"/> after the timeout.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string failure, int timeoutSeconds = 15) =>
        WaitUntilAsync(() => Task.FromResult(condition()), failure, timeoutSeconds);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure, int timeoutSeconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(failure);
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// A client whose connections come from <paramref name="from"/> (any 127.x.y.z is this machine): another client, as the
    /// server's per-client limits and shares see it.
    /// </summary>
    public static HttpClient ClientFrom(string from, int port) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        Timeout = TimeSpan.FromSeconds(120),
    };
}
