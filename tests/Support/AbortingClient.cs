using System.Net.Sockets;
using System.Text;

namespace Asgilook.Tests;

/// <summary>Where a <see cref="AbortingClient"/> gives up on an answer.</summary>
/// <param name="BodyBytes">How many bytes of the body it reads first; null: none, not even the headers.</param>
/// <param name="Headers">Whether it reads the headers first.</param>
public sealed record AbortAt(bool Headers, int? BodyBytes)
{
    /// <summary>Right after sending the request.</summary>
    public static readonly AbortAt AfterTheRequest = new(Headers: false, BodyBytes: null);

    /// <summary>Once the headers arrived (and whatever came with them).</summary>
    public static readonly AbortAt AfterTheHeaders = new(Headers: true, BodyBytes: null);

    public static AbortAt IntoTheBody(int bytes) => new(Headers: true, bytes);

    public override string ToString() => BodyBytes is { } bytes ? $"{bytes} bytes into the body" : Headers ? "after the headers" : "after the request";
}

/// <summary>
/// A client that goes away mid-answer, as a browser does when its user navigates away or a phone when it
/// loses the network: a 4 KiB receive window, a GET on a raw socket, some bytes read, then a reset (RST).
/// </summary>
public static class AbortingClient
{
    private const int ReceiveWindow = 4096;

    /// <param name="resetOnce">Waited for before the reset, when given (the server reached some point).</param>
    /// <returns>How many bytes it read in all (headers included).</returns>
    public static async Task<int> GetAndAbortAsync(int port, string pathAndQuery, AbortAt at, Task? resetOnce = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = ReceiveWindow };
        await socket.ConnectAsync("127.0.0.1", port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        var received = new List<byte>();
        if (at.Headers)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var buffer = new byte[1024];
            int HeadersEnd() => received.Count < 4 ? -1 : Encoding.ASCII.GetString([.. received]).IndexOf("\r\n\r\n", StringComparison.Ordinal);
            while (HeadersEnd() < 0 || (at.BodyBytes is { } wanted && received.Count - HeadersEnd() - 4 < wanted))
            {
                var want = at.BodyBytes is { } bytes && HeadersEnd() >= 0 ? Math.Min(buffer.Length, bytes - (received.Count - HeadersEnd() - 4)) : buffer.Length;
                var n = await socket.ReceiveAsync(buffer.AsMemory(0, Math.Max(1, want)), timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.AddRange(buffer.AsSpan(0, n));
            }
        }

        if (resetOnce is not null)
        {
            await resetOnce.WaitAsync(TimeSpan.FromSeconds(30));
        }

        // A zero linger makes Close send a reset instead of a graceful close.
        socket.LingerState = new LingerOption(enable: true, seconds: 0);
        socket.Close();
        return received.Count;
    }
}
