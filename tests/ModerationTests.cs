using System.Net;
using System.Text;
using System.Text.Json;
using Asgilook.Access;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// The moderation hook (<c>Asgilook:Moderation:*</c>) against a real HTTP server the test starts: it is sent the converted
/// JPEG, the new id and the uploader's key id; it accepts, refuses with a reason, fails, or never answers; and an upload it
/// did not accept stores nothing and lists nothing. Its URL, which carries a token, appears in no log line.
/// </summary>
public sealed class ModerationTests
{
    private static Dictionary<string, string?> Settings(HookServer hook, string? onFailure = null, string? url = null) => new()
    {
        ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
        ["Asgilook:Moderation:Url"] = url ?? hook.Url,
        ["Asgilook:Moderation:TimeoutSeconds"] = "1",
        ["Asgilook:Moderation:OnFailure"] = onFailure,
    };

    [Fact]
    public async Task An_accepted_upload_was_shown_to_the_hook_as_the_stored_jpeg_with_its_id_and_the_uploaders_key_id()
    {
        await using var hook = await HookServer.StartAsync();
        var withUser = hook.Url.Replace("http://", $"http://moderator:{HookServer.Token}@", StringComparison.Ordinal);
        await using var app = await TestApp.StartAsync(settings: Settings(hook, url: withUser));

        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);

        var review = Assert.Single(hook.Reviews);
        Assert.Equal(posted.GetProperty("image").GetString(), $"/images/{review.ImageId}.jpeg");
        Assert.Equal("image/jpeg", review.ContentType);
        Assert.Equal(await app.Client.GetByteArrayAsync(posted.GetProperty("image").GetString()), review.Body);
        Assert.Equal(Credentials.Hash(Secrets.UploadKey), review.UploaderKeyId);
        Assert.Equal(HookServer.Token, review.Token);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"moderator:{HookServer.Token}")), review.Authorization);
        Assert.DoesNotContain(Secrets.UploadKey, JsonSerializer.Serialize(review));
    }

    [Fact]
    public async Task A_refusal_answers_422_of_its_own_type_with_the_hooks_reason_and_stores_nothing()
    {
        await using var hook = await HookServer.StartAsync();
        await using var app = await TestApp.StartAsync(settings: Settings(hook));
        var listed = await app.Client.GetStringAsync("/images");

        hook.Answer = HookServer.Answering(403, "text/plain", "Nudity is not allowed in this community.");
        var problem = await RefusedAsync(app, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("urn:asgilook:problem:moderation-refused", problem.GetProperty("type").GetString());
        Assert.Equal("Nudity is not allowed in this community.", problem.GetProperty("detail").GetString());

        hook.Answer = HookServer.Answering(451, "application/problem+json", """{"title":"Unavailable","detail":"Reported by three members."}""");
        Assert.Equal("Reported by three members.", (await RefusedAsync(app, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString());

        hook.Answer = HookServer.Answering(400, "text/html", "<h1>No</h1>");
        Assert.DoesNotContain("<h1>", (await RefusedAsync(app, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString());

        Assert.Equal(listed, await app.Client.GetStringAsync("/images"));
        Assert.Empty(app.StoredFiles());
        Assert.Equal(3, hook.Reviews.Count);
    }

    [Fact]
    public async Task A_hostile_reason_comes_back_as_one_short_plain_line_inside_json()
    {
        await using var hook = await HookServer.StartAsync();
        await using var app = await TestApp.StartAsync(settings: Settings(hook));
        var hostile = "<script>alert(1)</script>\r\nSet-Cookie: x=1\u202E\u0000" + new string('a', 5000);

        hook.Answer = HookServer.Answering(403, "text/plain", hostile);
        using var refused = await PostAsync(app);

        Assert.Equal("application/problem+json", refused.ContentType());
        Assert.Equal("nosniff", refused.Headers.GetValues("X-Content-Type-Options").Single());
        var detail = (await refused.AssertProblemAsync(HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString()!;
        Assert.StartsWith("<script>alert(1)</script> Set-Cookie: x=1 aaa", detail, StringComparison.Ordinal);
        Assert.Equal(200, detail.Length);
        Assert.DoesNotContain(detail, c => char.IsControl(c) || c == '\u202E');
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_failing_hook_refuses_with_503_and_Retry_After_by_default_and_its_url_is_never_logged()
    {
        await using var hook = await HookServer.StartAsync();
        await using var app = await TestApp.StartAsync(settings: Settings(hook));

        hook.Answer = HookServer.Answering(500, "text/plain", "database down");
        using (var failed = await PostAsync(app))
        {
            var problem = await failed.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Moderation unavailable", problem.GetProperty("title").GetString());
            Assert.Equal("5", failed.Headers.GetValues("Retry-After").Single());
        }

        hook.Answer = HookServer.NeverAnswering;
        using (var unanswered = await PostAsync(app))
        {
            await unanswered.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }

        hook.Answer = async context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = "http://198.51.100.1/elsewhere";
            await context.Response.CompleteAsync();
        };
        using (var redirected = await PostAsync(app))
        {
            await redirected.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }

        Assert.Empty(app.StoredFiles());
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));

        // Readiness says so, without the URL, and stays in rotation (200, Degraded) until the hook answers again.
        var (status, check) = await ModerationReadinessAsync(app);
        Assert.Equal((HttpStatusCode.OK, "Degraded"), (status, check.GetProperty("status").GetString()));
        var said = check.GetProperty("description").GetString()!;
        Assert.Equal("the moderation hook answered 302 at its last review; uploads are refused with 503 until it answers", said);
        hook.Answer = _ => Task.CompletedTask;
        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        Assert.Equal("Healthy", (await ModerationReadinessAsync(app)).Check.GetProperty("status").GetString());

        var warnings = app.Logs.Warnings("ModerationHook");
        Assert.Contains(warnings, line => line.Contains("answered 500", StringComparison.Ordinal));
        Assert.Contains(warnings, line => line.Contains("did not answer within 1 s", StringComparison.Ordinal));
        Assert.Contains(warnings, line => line.Contains("answered 302", StringComparison.Ordinal));
        var moderation = app.Services.GetRequiredService<IOptions<Configuration.AsgilookOptions>>().Value.Moderation;
        Assert.Equal("Moderation { Configured = True, TimeoutSeconds = 1, OnFailure = Reject }", moderation.ToString());
        Assert.All(app.Logs.Entries, entry =>
        {
            Assert.DoesNotContain(HookServer.Token, entry.Message, StringComparison.Ordinal);
            Assert.DoesNotContain($":{hook.Port}", entry.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_hook_that_cannot_be_reached_refuses_or_accepts_as_OnFailure_says()
    {
        await using var hook = await HookServer.StartAsync();
        var gone = hook.Url;
        await hook.DisposeAsync();

        await using (var rejecting = await TestApp.StartAsync(settings: Settings(hook, url: gone)))
        {
            using var refused = await PostAsync(rejecting);
            await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Contains(rejecting.Logs.Warnings("ModerationHook"), line => line.Contains("could not be reached", StringComparison.Ordinal));
            Assert.Empty(rejecting.StoredFiles());
        }

        await using var accepting = await TestApp.StartAsync(settings: Settings(hook, onFailure: "Accept", url: gone));
        var posted = await accepting.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);
        Assert.Equal(HttpStatusCode.OK, (await accepting.Client.GetAsync(posted.GetProperty("image").GetString())).StatusCode);
        Assert.Contains(accepting.Logs.Warnings("ModerationHook"), line => line.Contains("stored unreviewed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hook_answering_100_MB_or_slowly_is_not_waited_for()
    {
        await using var hook = await HookServer.StartAsync();
        await using var app = await TestApp.StartAsync(settings: Settings(hook));
        // 100 MB and more: a body that goes on until the server hangs up. Were it read, the review would run into its
        // 1 s deadline (a 503, or a refusal without its reason); only a server that stops reading answers as below.
        var endless = (int status, string type) => (Func<HttpContext, Task>)(async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = type;
            var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
            using var hangUp = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            hangUp.CancelAfter(TimeSpan.FromSeconds(30));
            while (!hangUp.IsCancellationRequested)
            {
                await context.Response.Body.WriteAsync(chunk, hangUp.Token);
                await context.Response.Body.FlushAsync(hangUp.Token);
            }
        });

        hook.Answer = endless(200, "application/octet-stream");
        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);

        hook.Answer = endless(403, "text/plain");
        var refused = await RefusedAsync(app, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(new string('x', 199) + "…", refused.GetProperty("detail").GetString());

        // A refusal whose reason trickles in past the deadline still refuses, without the reason.
        hook.Answer = async context =>
        {
            context.Response.StatusCode = 403;
            context.Response.ContentType = "text/plain";
            await context.Response.StartAsync(context.RequestAborted);
            for (var i = 0; i < 100; i++)
            {
                await context.Response.WriteAsync("slow ", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(100, context.RequestAborted);
            }
        };
        var slow = await RefusedAsync(app, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("The service that reviews uploads refused this image and gave no reason; nothing was stored.", slow.GetProperty("detail").GetString());
        Assert.Single(app.StoredFiles());
    }

    [Fact]
    public async Task An_animation_is_reviewed_frame_by_frame_too_so_a_harmless_first_frame_carries_nothing_past_the_hook()
    {
        await using var hook = await HookServer.StartAsync();
        await using var app = await TestApp.StartAsync(settings: Settings(hook));
        var gif = TestImages.Animated(320, 240, frames: 4, ".gif");

        // The hook refuses what it sees in the frames (here: any animation), not in the first frame alone.
        hook.Answer = context => context.Request.ContentType == "image/webp"
            ? HookServer.Answering(403, "text/plain", "Frame 3 breaks the rules.")(context)
            : Task.CompletedTask;
        using (var refused = await PostAsync(app, gif))
        {
            var problem = await refused.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
            Assert.Equal("Frame 3 breaks the rules.", problem.GetProperty("detail").GetString());
        }

        Assert.Empty(app.StoredFiles());
        var reviews = hook.Reviews.ToArray();
        Assert.Equal(["image/jpeg", "image/webp"], reviews.Select(review => review.ContentType));
        Assert.Equal((null, "4"), (reviews[0].Frames, reviews[1].Frames));
        Assert.Equal(reviews[0].ImageId, reviews[1].ImageId);
        using (var frames = NetVips.Image.WebploadBuffer(reviews[1].Body, n: -1))
        {
            Assert.Equal(4, frames.Height / frames.PageHeight);
        }

        hook.Answer = _ => Task.CompletedTask;
        var posted = await app.Client.PostImageAsync(gif, Secrets.UploadKey);
        Assert.True(posted.GetProperty("animated").GetBoolean());
        Assert.Equal(4, hook.Reviews.Count);
    }

    [Fact]
    public async Task Without_a_hook_nothing_is_sent_anywhere()
    {
        await using var hook = await HookServer.StartAsync();
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:UploadKeys:0"] = Secrets.UploadKey });

        await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240), Secrets.UploadKey);

        Assert.Empty(hook.Reviews);
        Assert.Equal("no moderation hook", (await ModerationReadinessAsync(app)).Check.GetProperty("description").GetString());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Check)> ModerationReadinessAsync(TestApp app)
    {
        using var ready = await app.Client.GetAsync("/health/ready");
        var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        return (ready.StatusCode, report.GetProperty("checks").GetProperty("moderation").Clone());
    }

    private static async Task<HttpResponseMessage> PostAsync(TestApp app, byte[]? image = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/images") { Content = new ByteArrayContent(image ?? TestImages.RandomEllipses(320, 240)) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Secrets.UploadKey);
        return await app.Client.SendAsync(request);
    }

    private static async Task<JsonElement> RefusedAsync(TestApp app, HttpStatusCode status)
    {
        using var refused = await PostAsync(app);
        return await refused.AssertProblemAsync(status);
    }
}
