using Asgilook;
using Carter;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSingleton(new Config());
builder.Services.AddSingleton<Store>();
builder.Services.AddProblemDetails();
builder.Services.AddCarter(configurator: carter => carter.WithModule<ImagesModule>().WithModule<ThumbnailsModule>());

var app = builder.Build();
app.MapCarter();
app.Run();
