using Asgilook;

var builder = WebApplication.CreateBuilder(args);
builder.AddAsgilook();

var app = builder.Build();
app.UseAsgilook();
app.Run();
