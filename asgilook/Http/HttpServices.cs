using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Http;

public static class HttpServices
{
    /// <summary>RFC 9457 problems for every refusal, each described and logged once, and the exceptions that mean 503.</summary>
    public static IServiceCollection AddHttpProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = Rejections.Describe);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RejectionLog>();
        services.AddExceptionHandler<ExceptionAnswers>();
        return services;
    }
}
