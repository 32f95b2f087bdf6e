using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Caching;
using Asgilook.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Asgilook.Tests;

[CollectionDefinition(nameof(EnvironmentVariables), DisableParallelization = true)]
public sealed class EnvironmentVariables;

/// <summary>Settings: the tutorial's defaults, its environment variables, validation at startup.</summary>
[Collection(nameof(EnvironmentVariables))]
public sealed class ConfigurationTests
{
    [Fact]
    public void DefaultsAreTheTutorials()
    {
        var options = new AsgilookOptions();

        Assert.Equal(Path.Combine(Path.GetTempPath(), "asgilook"), options.StoragePath);
        Assert.Null(options.RedisHost);
        Assert.Equal(64, options.MinThumbSize);
    }

    [Fact]
    public void TutorialEnvironmentVariablesAreHonouredBelowTheCommandLine()
    {
        using var storage = new ScopedVariable("ASGI_LOOK_STORAGE_PATH", "/srv/from-environment");
        using var redis = new ScopedVariable("ASGI_LOOK_REDIS_HOST", "redis://cache.internal:6380/2");

        var fromEnvironment = Bind(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Asgilook:StoragePath"] = "/from/appsettings" })
            .AddTutorialEnvironmentVariables());
        Assert.Equal("/srv/from-environment", fromEnvironment.StoragePath);
        Assert.Equal("redis://cache.internal:6380/2", fromEnvironment.RedisHost);

        var fromCommandLine = Bind(new ConfigurationBuilder()
            .AddCommandLine(["--Asgilook:StoragePath=/from/command-line"])
            .AddTutorialEnvironmentVariables());
        Assert.Equal("/from/command-line", fromCommandLine.StoragePath);
    }

    [Fact]
    public void UnsetOrEmptyVariablesLeaveTheDefaults()
    {
        using var storage = new ScopedVariable("ASGI_LOOK_STORAGE_PATH", "");
        using var redis = new ScopedVariable("ASGI_LOOK_REDIS_HOST", null);

        var options = Bind(new ConfigurationBuilder().AddTutorialEnvironmentVariables());

        Assert.Equal(AsgilookOptions.DefaultStoragePath, options.StoragePath);
        Assert.Null(options.RedisHost);
    }

    [Theory]
    [InlineData("Asgilook:MinThumbSize", "0", "MinThumbSize")]
    [InlineData("Asgilook:StoragePath", "", "StoragePath")]
    [InlineData("Asgilook:StoragePath", "bad\0path", "StoragePath")]
    [InlineData("Asgilook:RedisHost", "http://localhost:6379", "redis://")]
    [InlineData("Asgilook:RedisHost", "redis://localhost:6379/zero", "database number")]
    [InlineData("Asgilook:RedisHost", "redis:///0", "no host")]
    [InlineData("Asgilook:AdminKeys:0", "hunter2", "Asgilook:AdminKeys:0 is shorter than 16")]
    [InlineData("Asgilook:UploadKeys:0", "hunter2", "Asgilook:UploadKeys:0 is shorter than 16")]
    [InlineData("Asgilook:RedisHost", "redis://:hunter2@/0", "'redis://***@/0' is not usable")]
    [InlineData("Asgilook:RedisHost", "password=hunter2", "'password=***' is not usable: it names no host")]
    [InlineData("Asgilook:Database", "Host=db;Password=hunter2;Bogus=1", "Asgilook:Database (ASGI_LOOK_DATABASE) is not a PostgreSQL connection string")]
    [InlineData("Asgilook:TrustedProxies:0", "10.0.0.0/33", "'10.0.0.0/33' is neither an IP address nor a CIDR range")]
    [InlineData("Asgilook:RateLimits:UploadsPerMinute", "-1", "RateLimits")]
    [InlineData("Asgilook:S3:Bucket", "images", "Asgilook:S3:Endpoint (ASGI_LOOK_S3_ENDPOINT) must be the server's http:// or https:// URL")]
    [InlineData("Asgilook:S3:Endpoint", "ftp://s3.example", "Asgilook:S3:Endpoint (ASGI_LOOK_S3_ENDPOINT) must be the server's http:// or https:// URL")]
    [InlineData("Asgilook:S3:Endpoint", "https://user:hunter2@s3.example", "must not hold credentials")]
    [InlineData("Asgilook:S3:Endpoint", "https://s3.example", "Asgilook:S3:Bucket (ASGI_LOOK_S3_BUCKET) must be a bucket name")]
    [InlineData("Asgilook:S3:Bucket", "../../etc", "Asgilook:S3:Bucket (ASGI_LOOK_S3_BUCKET) must be a bucket name")]
    [InlineData("Asgilook:S3:SecretKey", "hunter2-but-no-bucket", "Asgilook:S3: set both AccessKey and SecretKey")]
    [InlineData("Asgilook:S3:Timeout", "00:00:00", "Asgilook:S3:Timeout")]
    [InlineData("Asgilook:Moderation:Url", "ftp://hunter2@hook.example/review", "Asgilook:Moderation:Url must be the hook's absolute http:// or https:// URL")]
    [InlineData("Asgilook:Moderation:Url", "/review?token=hunter2", "Asgilook:Moderation:Url must be the hook's absolute http:// or https:// URL")]
    [InlineData("Asgilook:Moderation:TimeoutSeconds", "0", "Asgilook:Moderation:TimeoutSeconds must be from 0.1 to 300")]
    [InlineData("Asgilook:Quotas:ImagesPerKey", "-1", "Asgilook:Quotas: ImagesPerKey and MegabytesPerKey are 0 (no limit) or more")]
    public async Task BadSettingFailsAtStartupSayingWhichWithoutShowingASecret(string key, string value, string message)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => TestApp.StartAsync(settings: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(message, failure.Message);
        Assert.DoesNotContain("hunter2", failure.Message);
    }

    [Theory]
    [InlineData("Asgilook:ImageEngine", "Magick")]
    [InlineData("Asgilook:ImageEngine", "'; rm -rf /")]
    public async Task AnEngineThatIsNoneOfTheTwoFailsAtStartupNamingTheSetting(string key, string value)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(
            () => TestApp.StartAsync(settings: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains("Asgilook:ImageEngine", failure.Message);
    }

    [Theory]
    [InlineData("ImageSharp", "imagesharp-2.1.13-q85")]
    [InlineData("imagesharp", "imagesharp-2.1.13-q85")]
    [InlineData("Vips", "vips-8.")]
    public async Task TheEngineSettingChoosesTheEngineAndTheStartupLogNamesIt(string value, string version)
    {
        using (new ScopedVariable("ASGI_LOOK_IMAGE_ENGINE", value))
        {
            Assert.Equal(value, Bind(new ConfigurationBuilder().AddTutorialEnvironmentVariables()).ImageEngine.ToString(), ignoreCase: true);
        }

        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:ImageEngine"] = value });

        Assert.StartsWith(version, app.Services.GetRequiredService<Asgilook.Imaging.IImageProcessor>().Version);
        Assert.Contains(app.Logs.Entries, entry => entry.Message.StartsWith($"Image engine: {version}", StringComparison.Ordinal));
    }

    [Fact]
    public void TheS3VariablesNameTheBucketAndNeverShowTheSecret()
    {
        using var endpoint = new ScopedVariable("ASGI_LOOK_S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com");
        using var bucket = new ScopedVariable("ASGI_LOOK_S3_BUCKET", "images");
        using var access = new ScopedVariable("ASGI_LOOK_S3_ACCESS_KEY", "AKIAEXAMPLE");
        using var secret = new ScopedVariable("ASGI_LOOK_S3_SECRET_KEY", "hunter2-s3-secret");
        using var region = new ScopedVariable("ASGI_LOOK_S3_REGION", "eu-west-1");

        var s3 = Bind(new ConfigurationBuilder().AddTutorialEnvironmentVariables()).S3;

        Assert.True(s3.Configured);
        Assert.Equal(("https://s3.eu-west-1.amazonaws.com", "images", "AKIAEXAMPLE", "hunter2-s3-secret", "eu-west-1"), (s3.Endpoint, s3.Bucket, s3.AccessKey, s3.SecretKey, s3.Region));
        Assert.DoesNotContain("hunter2", s3.ToString());
        Assert.Equal("bucket images at https://s3.eu-west-1.amazonaws.com", new Asgilook.Storage.Bucket.BucketStore(s3).Description);
        Assert.False(new AsgilookOptions().S3.Configured); // the folder, unless a bucket is named
    }

    [Fact]
    public void KeyVariablesTakeCommaSeparatedLists()
    {
        using var admin = new ScopedVariable("ASGI_LOOK_ADMIN_KEYS", $"{Secrets.AdminKey}, {Secrets.UploadKey}");
        using var upload = new ScopedVariable("ASGI_LOOK_UPLOAD_KEYS", Secrets.OtherUploadKey);

        var options = Bind(new ConfigurationBuilder().AddTutorialEnvironmentVariables());

        Assert.Equal([Secrets.AdminKey, Secrets.UploadKey], options.AdminKeys);
        Assert.Equal([Secrets.OtherUploadKey], options.UploadKeys);
        Assert.Empty(new AsgilookOptions().UploadKeys); // anyone may upload unless keys are given
    }

    [Fact]
    public async Task MinThumbSizeShapesTheSeries()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:MinThumbSize"] = "100" });

        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());

        Assert.Equal(1, posted.GetProperty("thumbnails").GetArrayLength());
    }

    [Fact]
    public async Task StorageFolderIsCreatedAtStartup()
    {
        using var root = new TemporaryFolder("asgilook-config-");
        var nested = Path.Combine(root.Path, "a", "b");
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:StoragePath"] = nested });

        Assert.True(Directory.Exists(nested));
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var listed = await app.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Single(Directory.GetFiles(nested, "*.jpeg"));
        Assert.Equal(1, listed.GetArrayLength());
    }

    [Fact]
    public async Task CacheStoreFollowsRedisHost()
    {
        await using var memory = await TestApp.StartAsync();
        Assert.IsType<MemoryCacheStore>(memory.Services.GetRequiredService<ICacheStore>());

        var port = Loopback.FreePort();
        await using var redis = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:RedisHost"] = $"redis://127.0.0.1:{port}/0" });
        var store = Assert.IsType<RedisCacheStore>(redis.Services.GetRequiredService<ICacheStore>());
        Assert.Equal($"Redis at 127.0.0.1:{port}, database 0", store.Description);
    }

    [Fact]
    public void ListensOnPort8000UnlessToldOtherwise()
    {
        var plain = WebApplication.CreateBuilder([]);
        plain.AddAsgilook();
        Assert.Equal("http://localhost:8000", plain.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));

        var told = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:9123"]);
        told.AddAsgilook();
        Assert.Equal("http://127.0.0.1:9123", told.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));
    }

    private static AsgilookOptions Bind(IConfigurationBuilder configuration)
    {
        var options = new AsgilookOptions();
        configuration.Build().GetSection(AsgilookOptions.SectionName).Bind(options);
        return options;
    }

    private sealed class ScopedVariable : IDisposable
    {
        private readonly string _name;
        private readonly string? _previous;

        public ScopedVariable(string name, string? value)
        {
            _name = name;
            _previous = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
    }
}
