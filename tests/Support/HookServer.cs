using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Asgilook.Tests;

/// <summary>
/// A real moderation hook: Kestrel on a free loopback port, answering each review with <see cref="Answer"/> (which a test
/// may change between uploads) and keeping what it was sent. Its URL carries a secret token, which the leak check knows.
/// </summary>
public sealed class HookServer : IAsyncDisposable
{
    /// <summary>What the hook was sent for one upload.</summary>
    public sealed record Review(string? ImageId, string? UploaderKeyId, string? ContentType, string? Authorization, string? Token, byte[] Body, string? Frames = null);

    public static readonly string Token = Secrets.KeyPrefix + "hook-token-" + Guid.NewGuid().ToString("N");

    private readonly WebApplication _app;

    private HookServer(WebApplication app) => _app = app;

    /// <summary>How the hook answers; 200 with an empty body unless a test says otherwise.</summary>
    public Func<HttpContext, Task> Answer { get; set; } = _ => Task.CompletedTask;

    public ConcurrentQueue<Review> Reviews { get; } = new();

    public int Port { get; private set; }

    /// <summary>The URL to configure, with its secret token in the query.</summary>
    public string Url => $"http://127.0.0.1:{Port}/review?token={Token}";

    public static async Task<HookServer> StartAsync()
    {
        Secrets.Remember(Token);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new HookServer(app);
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var request = context.Request;
            server.Reviews.Enqueue(new Review(
                request.Headers["Asgilook-Image-Id"], request.Headers["Asgilook-Uploader-Key-Id"], request.ContentType,
                request.Headers.Authorization, request.Query["token"], body.ToArray(), request.Headers["Asgilook-Frames"]));
            await server.Answer(context);
        });
        await app.StartAsync();
        server.Port = new Uri(app.Urls.Single()).Port;
        return server;
    }

    /// <summary>An answer of <paramref name="status"/> with a body of that type.</summary>
    public static Func<HttpContext, Task> Answering(int status, string? contentType = null, string body = "") => async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body, context.RequestAborted);
    };

    /// <summary>Never an answer: the request is held until the caller gives up.</summary>
    public static Task NeverAnswering(HttpContext context) => Task.Delay(Timeout.Infinite, context.RequestAborted);

    public async ValueTask DisposeAsync()
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(patience.Token);
        await _app.DisposeAsync();
    }
}
