using Asgilook;
using Asgilook.Sandbox;
using Asgilook.Storage.Bucket;

if (ConversionWorker.IsInvoked(args))
{
    return ConversionWorker.Run(args); // a conversion worker, started by the server: no web server here
}

if (StoreMigration.IsInvoked(args))
{
    return await StoreMigration.RunAsync(args, Console.Out); // copies the storage folder into the bucket, then exits
}

var builder = WebApplication.CreateBuilder(args);
builder.AddAsgilook();

var app = builder.Build();
app.UseAsgilook();
app.Run();
return 0;
