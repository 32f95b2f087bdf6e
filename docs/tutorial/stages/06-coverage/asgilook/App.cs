using Carter;

namespace Asgilook;

/// <summary>The tutorial's create_app(config): Program.cs and the tests build the same app.</summary>
public static class App
{
    public static WebApplication Create(Config config, string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton<Store>();
        builder.Services.AddSingleton<RedisConnection>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<RedisConnection>());
        builder.Services.AddProblemDetails();
        builder.Services.AddCarter(configurator: carter => carter.WithModule<ImagesModule>().WithModule<ThumbnailsModule>());

        var app = builder.Build();
        app.UseMiddleware<RedisCache>();
        app.MapCarter();
        return app;
    }
}
