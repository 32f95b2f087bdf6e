using Asgilook.Configuration;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Asgilook.Access;

public static class AccessServices
{
    /// <summary>Who may upload and delete (keys, delete tokens), and which proxies may say who a client is.</summary>
    public static IServiceCollection AddAccess(this IServiceCollection services)
    {
        services.TryAddSingleton<Credentials>();
        services.AddSingleton<IConfigureOptions<ForwardedHeadersOptions>>(provider =>
            new ConfigureOptions<ForwardedHeadersOptions>(forwarded => TrustedProxies.Configure(forwarded, provider.Settings())));
        return services;
    }
}
