using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Asgilook.Tests;

/// <summary><c>deploy/cluster.sh --s3</c> run for real: instances on a bucket of the S3 server it starts, each with a folder of its own.</summary>
[Trait(Needs.Trait, Needs.S3)]
public sealed partial class ClusterScriptS3Tests
{
    [Fact]
    public async Task The_s3_cluster_serves_an_upload_from_either_instance_keeps_no_image_in_their_folders_and_cleans_up()
    {
        var port = Loopback.FreePorts(3);
        var script = await ClusterScript.StartAsync(port, "--s3");
        string? secretKey = null;
        try
        {
            Assert.True(script.Started, $"the cluster did not start:\n{script.Output}\n{await script.ErrorsAsync()}");
            var environment = await File.ReadAllTextAsync(Path.Combine(script.Folder, "cluster.env"));
            var endpoint = Setting().Match(environment.Replace("S3_ENDPOINT=", "S3=", StringComparison.Ordinal)).Groups[1].Value;
            secretKey = SecretKey().Match(environment).Groups[1].Value;
            Assert.True(secretKey.Length >= 24, "cluster.env names no generated S3 secret key");
            Secrets.Remember(secretKey);
            Assert.DoesNotContain(secretKey, script.Output);

            using var nginx = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var posted = await nginx.PostImageAsync(TestImages.RandomEllipses(640, 360));
            var original = posted.GetProperty("image").GetString()!;
            var bytes = await nginx.GetByteArrayAsync(original);
            foreach (var instance in new[] { 1, 2 })
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port + instance}") };
                Assert.Equal(bytes, await client.GetByteArrayAsync(original));
                using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port + 100 + instance}") };
                var ready = await management.GetFromJsonAsync<JsonElement>("/health/ready");
                Assert.Equal($"bucket asgilook at {endpoint} is writable", ready.GetProperty("checks").GetProperty("storage").GetProperty("description").GetString());
                Assert.Empty(Directory.GetFiles(Path.Combine(script.Folder, $"instance-{instance}"), "*.jpeg"));
            }

            Assert.Empty(Directory.GetFiles(Path.Combine(script.Folder, "images"), "*.jpeg"));
            Assert.DoesNotContain(secretKey, await File.ReadAllTextAsync(Path.Combine(script.Folder, "logs", "instance-1.log")));
        }
        finally
        {
            await script.DisposeAsync();
        }

        Assert.False(Directory.Exists(script.Folder), "the cluster's folder was left behind");
        // Ceph's daemons went with it: none names the cluster's folder any more.
        Assert.DoesNotContain(Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(name => name!.All(char.IsAsciiDigit)), pid =>
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Contains(script.Folder, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        });
    }

    [GeneratedRegex(@"(?m)^S3=(\S+)")]
    private static partial Regex Setting();

    [GeneratedRegex(@"(?m)^S3_SECRET_KEY=(\S+)")]
    private static partial Regex SecretKey();
}
