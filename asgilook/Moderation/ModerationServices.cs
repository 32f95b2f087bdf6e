using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Moderation;

public static class ModerationServices
{
    /// <summary>The moderation hook the store asks before storing an upload (it does nothing unless <c>Moderation:Url</c> is set).</summary>
    public static IServiceCollection AddModeration(this IServiceCollection services)
    {
        services.TryAddSingleton<ModerationHook>();
        return services;
    }
}
