using Asgilook;
using Carter;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSingleton(new Config());
builder.Services.AddSingleton<Store>();
builder.Services.AddSingleton<RedisConnection>();
builder.Services.AddHostedService(provider => provider.GetRequiredService<RedisConnection>());
builder.Services.AddProblemDetails();
builder.Services.AddCarter(configurator: carter => carter.WithModule<ImagesModule>().WithModule<ThumbnailsModule>());

var app = builder.Build();
app.UseMiddleware<RedisCache>();
app.MapCarter();
app.Run();
