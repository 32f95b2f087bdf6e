using System.Net;
using Asgilook.Configuration;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;

namespace Asgilook.Access;

/// <summary>
/// <c>X-Forwarded-For</c> is believed only from <c>Asgilook:TrustedProxies</c>: otherwise any client could
/// name itself anyone and get a fresh rate-limit budget per request. ASP.NET Core's own default would
/// trust loopback, so the list is replaced, not extended; and with no proxies at all its middleware
/// would believe everyone, so the pipeline adds it only when some are configured.
/// </summary>
public static class TrustedProxies
{
    public static bool TryParse(string value, out IPNetwork network)
    {
        if (IPNetwork.TryParse(value, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(value, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    public static void Configure(ForwardedHeadersOptions forwarded, AsgilookOptions options)
    {
        forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        // A chain of trusted proxies is followed to the first address none of them is.
        forwarded.ForwardLimit = null;
        foreach (var proxy in options.TrustedProxies)
        {
            if (TryParse(proxy, out var network))
            {
                forwarded.KnownIPNetworks.Add(network);
            }
        }
    }
}
