using System.Net;
using System.Net.Sockets;

namespace Asgilook.Tests;

/// <summary>For tests that run real servers on this machine: free ports, and bounded waiting.</summary>
public static class Loopback
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
}
