using Asgilook;
using Asgilook.Sandbox;

if (ConversionWorker.IsInvoked(args))
{
    return ConversionWorker.Run(args); // a conversion worker, started by the server: no web server here
}

var builder = WebApplication.CreateBuilder(args);
builder.AddAsgilook();

var app = builder.Build();
app.UseAsgilook();
app.Run();
return 0;
