using System.Net.Sockets;
using System.Text;

namespace Asgilook.Tests;

/// <summary>
/// An upload written by hand on a socket, to show what a server decides before a body arrives: it
/// announces a large body, sends only part of it, and reads the answer while holding the rest back.
/// </summary>
public static class RawUpload
{
    public static async Task<(int Status, string Headers, string Body)> SendHeadersAndSomeOfTheBodyAsync(
        int port, long announced, int sent, string? authorization = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        var request = new StringBuilder()
            .Append("POST /images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n")
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Length: {announced}\r\n");
        if (authorization is not null)
        {
            request.Append(System.Globalization.CultureInfo.InvariantCulture, $"Authorization: {authorization}\r\n");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Append(System.Globalization.CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Append("\r\n").ToString()));
        await stream.WriteAsync(new byte[sent]);
        await stream.FlushAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (!IsComplete(received.ToArray()))
        {
            var n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0)
            {
                break;
            }

            received.Write(buffer, 0, n);
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split < 0 ? text : text[..split];
        var status = int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, head, split < 0 ? string.Empty : text[(split + 4)..]);
    }

    /// <summary>Whether a whole answer arrived: its headers, and its body by Content-Length or the last chunk.</summary>
    private static bool IsComplete(byte[] data)
    {
        var text = Encoding.UTF8.GetString(data);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return false;
        }

        var head = text[..split].ToLowerInvariant();
        var body = text[(split + 4)..];
        var length = head.Split("\r\n").FirstOrDefault(line => line.StartsWith("content-length:", StringComparison.Ordinal));
        return length is not null
            ? Encoding.UTF8.GetByteCount(body) >= int.Parse(length["content-length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : body.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
    }
}
