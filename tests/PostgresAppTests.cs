using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Images;
using Asgilook.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Asgilook.Tests;

/// <summary>The whole app with its metadata in PostgreSQL instead of SQLite.</summary>
[Trait(Needs.Trait, Needs.PostgreSQL)]
public sealed class PostgresAppTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task ContentBlockedOnOneInstanceIsRefusedOnAnother()
    {
        var settings = new Dictionary<string, string?> { ["Asgilook:Database"] = await postgres.NewDatabaseAsync(), ["Asgilook:AdminKeys:0"] = Secrets.AdminKey };
        using var storage = new TemporaryFolder("asgilook-pg-");
        var photo = TestImages.RandomEllipses(320, 240);
        await using var first = await TestApp.StartAsync(settings: settings, storagePath: storage.Path);
        await using var second = await TestApp.StartAsync(settings: settings, storagePath: storage.Path);

        var posted = await first.Client.PostImageAsync(photo);
        using (var blocked = await first.Client.DeleteAsync($"{posted.GetProperty("image").GetString()}?block=true", Secrets.AdminKey))
        {
            Assert.Equal(HttpStatusCode.NoContent, blocked.StatusCode);
        }

        using var refused = await second.Client.PostAsync("/images", new ByteArrayContent(photo));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("urn:asgilook:problem:blocked-content", problem.GetProperty("type").GetString());
        Assert.Equal("[]", await second.Client.GetStringAsync("/images"));
    }

    [Fact]
    public async Task OneKeyUploadingAtOnceThroughTwoInstancesGetsExactlyItsQuota()
    {
        var settings = QuotaTests.Settings(imagesPerKey: "5");
        settings["Asgilook:Database"] = await postgres.NewDatabaseAsync();
        using var storage = new TemporaryFolder("asgilook-quota-");
        static void RandomIds(IServiceCollection services) => services.AddSingleton<IImageIdGenerator, RandomImageIdGenerator>();
        await using var first = await TestApp.StartAsync(settings: settings, storagePath: storage.Path, services: RandomIds);
        await using var second = await TestApp.StartAsync(settings: settings, storagePath: storage.Path, services: RandomIds);

        var answers = await Task.WhenAll(Enumerable.Range(0, 14).Select(n => QuotaTests.PostAsync(n % 2 == 0 ? first : second, Secrets.UploadKey)));

        Assert.Equal(5, answers.Count(answer => answer.StatusCode == HttpStatusCode.Created));
        Assert.All(answers, answer => Assert.Contains(answer.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.InsufficientStorage }));
        Assert.Equal(5, (await first.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
        Assert.Equal(5, Directory.GetFiles(storage.Path, "*.jpeg").Length);
        using var usage = await QuotaTests.GetUsageAsync(second, Secrets.UploadKey);
        Assert.Equal(5, JsonDocument.Parse(await usage.Content.ReadAsStringAsync()).RootElement.GetProperty("images").GetInt64());
        foreach (var answer in answers)
        {
            if (answer.StatusCode == HttpStatusCode.Created)
            {
                Secrets.Remember(JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("delete_token").GetString()!);
            }

            answer.Dispose();
        }
    }

    [Fact]
    public async Task ImagesAreListedFromPostgresAcrossRestartsAndDeleted()
    {
        var database = await postgres.NewDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["Asgilook:Database"] = database, ["Asgilook:AdminKeys:0"] = Secrets.AdminKey };
        using var temporary = new TemporaryFolder("asgilook-pg-");
        var storage = temporary.Path;
        await using (var first = await TestApp.StartAsync(settings: settings, storagePath: storage))
        {
            Assert.IsType<PostgresImageCatalog>(first.Services.GetRequiredService<IImageCatalog>());
            for (var i = 0; i < 3; i++)
            {
                await first.Client.PostImageAsync(TestImages.RandomEllipses());
            }

            Assert.False(File.Exists(Path.Combine(storage, SqliteImageCatalog.FileName)));
        }

        await using var second = await TestApp.StartAsync(settings: settings, storagePath: storage);
        var listed = await second.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Equal(TestApp.PredictableIds.Select(id => id.ToString()), listed.EnumerateArray().Select(image => image.GetProperty("id").GetString()));

        using var deleted = await second.Client.DeleteAsync($"/images/{TestApp.PredictableIds[1]}.jpeg", Secrets.AdminKey);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(2, (await second.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Fact]
    public async Task WhilePostgresIsDownRequestsGetAClear503AndNothingHalfWrittenThenTheyRecover()
    {
        var database = await postgres.NewDatabaseAsync();
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:Database"] = database });
        var before = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = before.GetProperty("thumbnails")[0].GetString()!;

        await postgres.StopAsync();
        try
        {
            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => app.Client.GetAsync("/images?limit=10"),
                () => app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses())),
                () => app.Client.GetAsync(before.GetProperty("image").GetString()),
                () => app.Client.GetAsync(thumbnail.Replace("320x180", "160x90", StringComparison.Ordinal)),
                () => app.Client.DeleteImageAsync(before),
            })
            {
                using var response = await request();
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                Assert.Equal("Image catalog unavailable", problem.GetProperty("title").GetString());
                Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
            }

            // The upload was converted and written, then refused by the catalog: its file is gone again.
            Assert.Single(app.StoredFiles());
            using var ready = await app.Client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("does not answer", await ready.Content.ReadAsStringAsync());
        }
        finally
        {
            await postgres.StartAsync();
        }

        // The pool's broken connections are dropped as they fail; then everything answers again.
        await EventuallyOkAsync(app, "/images");
        Assert.Single((await app.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray());
        var after = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        Assert.Equal(2, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
        Assert.Equal(2, app.StoredFiles().Length);
        using var readyAgain = await app.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, readyAgain.StatusCode);
        Assert.NotEqual(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());
    }

    [Fact]
    public async Task ConnectionTimeoutsDefaultToSecondsUnlessTheConnectionStringSetsThem()
    {
        var defaults = new Npgsql.NpgsqlConnectionStringBuilder(PostgresImageCatalog.WithTimeouts("Host=db;Username=asgilook"));
        var given = new Npgsql.NpgsqlConnectionStringBuilder(
            PostgresImageCatalog.WithTimeouts("Host=db;Username=asgilook;Timeout=30;Command Timeout=60;Cancellation Timeout=3000"));

        Assert.Equal((3, 3, -1), (defaults.Timeout, defaults.CommandTimeout, defaults.CancellationTimeout));
        Assert.Equal((30, 60, 3000), (given.Timeout, given.CommandTimeout, given.CancellationTimeout));
        await using var catalog = new PostgresImageCatalog("Host=db;Username=asgilook;Password=secret");
        Assert.Equal("PostgreSQL at db:5432, database asgilook", catalog.Description);
    }

    /// <summary>Polls until the answer is 200; meanwhile every answer must be the catalog's 503.</summary>
    private static Task EventuallyOkAsync(TestApp app, string uri) =>
        Loopback.WaitUntilAsync(async () =>
        {
            using var response = await app.Client.GetAsync(uri);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            }

            return response.StatusCode == HttpStatusCode.OK;
        }, "the app did not recover after PostgreSQL came back", timeoutSeconds: 30);

    [Fact]
    public async Task ADemotedReadOnlyPrimaryAndConnectionsCutMidWayAre503AndLeaveNothingBehind()
    {
        var database = await postgres.NewDatabaseAsync();
        var name = new Npgsql.NpgsqlConnectionStringBuilder(database).Database!;
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:Database"] = database });
        var kept = await app.Client.PostImageAsync(TestImages.RandomEllipses());

        // What a failover does to the old primary: it turns read-only, and the connections to it are cut.
        await postgres.ExecuteAsync($"ALTER DATABASE {name} SET default_transaction_read_only = on");
        await postgres.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'");
        try
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 4; i++)
            {
                using var upload = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
                var problem = await upload.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                Assert.Equal("Image catalog unavailable", problem.GetProperty("title").GetString());
                Assert.Equal(TimeSpan.FromSeconds(5), upload.Headers.RetryAfter?.Delta);
                statuses.Add(upload.StatusCode);
            }

            using var delete = await app.Client.DeleteImageAsync(kept);
            await delete.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Single(app.StoredFiles()); // no upload left a file, and the delete removed nothing
        }
        finally
        {
            await postgres.ExecuteAsync($"ALTER DATABASE {name} SET default_transaction_read_only = off");
            await postgres.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'");
        }

        await Loopback.WaitUntilAsync(async () =>
        {
            using var upload = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
            return upload.StatusCode == HttpStatusCode.Created;
        }, "uploads did not come back with a writable primary");
        Assert.Equal(2, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Fact]
    public async Task InstanceStartedBeforeItsDatabaseWaitsForIt()
    {
        var database = await postgres.NewDatabaseAsync();
        await postgres.StopAsync();
        Task<TestApp> starting;
        try
        {
            starting = TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:Database"] = database });
            // A window to show it does not start while its database is away (what it logs meanwhile is checked below).
            await Task.Delay(1500);
            Assert.False(starting.IsCompleted);
        }
        finally
        {
            await postgres.StartAsync();
        }

        await using var app = await starting;
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        Assert.Contains(app.Logs.Warnings("StoreInitializer"), message => message.Contains("does not answer yet", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DatabaseThatNeverAnswersFailsStartupSayingWhich()
    {
        var nowhere = $"Host=127.0.0.1;Port={Loopback.FreePort()};Username=asgilook;Database=images";

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:Database"] = nowhere,
            ["Asgilook:DatabaseStartupWait"] = "00:00:01.5",
        }));

        Assert.Contains("The image catalog (PostgreSQL at 127.0.0.1:", failure.Message);
        Assert.Contains("database images) did not answer within 1.5 s (Asgilook:DatabaseStartupWait)", failure.Message);
    }

    [Fact]
    public async Task BadConnectionStringFailsAtStartupSayingWhich()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:Database"] = "this is not=a;connection string" }));

        Assert.Contains("ASGI_LOOK_DATABASE", failure.Message);
    }
}
