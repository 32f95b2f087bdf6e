using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Storage.Bucket;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// Instances that share no folder, as on several machines: a real PostgreSQL, a real Redis and a bucket of a real S3
/// server (Ceph radosgw), each instance with its own empty storage folder, nginx in front (<c>deploy/cluster.sh --s3</c>).
/// </summary>
[Trait(Needs.Trait, Needs.S3)]
[Collection(S3Collection.Name)]
public sealed class BucketClusterTests(PostgresServer postgres, RedisCacheBackend redis, S3Server s3)
    : IClassFixture<PostgresServer>, IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task An_upload_on_one_instance_is_served_by_the_other_and_a_delete_on_the_other_is_gone_on_both()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis, s3: s3);
        var (a, b) = (cluster.Instances[0].Client, cluster.Instances[1].Client);

        var posted = await a.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var (id, original) = (posted.GetProperty("id").GetString()!, posted.GetProperty("image").GetString()!);
        var thumbnail = posted.GetProperty("thumbnails")[1].GetString()!;
        var bytes = await a.GetByteArrayAsync(original);
        Assert.Equal(bytes, await b.GetByteArrayAsync(original));
        Assert.Equal((320, 180), TestImages.SizeOf(await b.GetByteArrayAsync(thumbnail)));
        Assert.Equal(id, Assert.Single((await b.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray()).GetProperty("id").GetString());
        await Loopback.WaitUntilAsync(async () => (await s3.KeysAsync(cluster.Bucket!)).Any(key => key.StartsWith($"{id}.renders/", StringComparison.Ordinal)), "the render was not kept in the bucket");
        foreach (var instance in new[] { 0, 1 })
        {
            // Nothing an instance could not lose: no render in its own folder, originals only as copies in its read cache.
            var folder = cluster.InstanceFolder(instance);
            Assert.DoesNotContain(Directory.GetFiles(folder, "*.jpeg", SearchOption.AllDirectories), path => Path.GetDirectoryName(path) != Path.Combine(folder, ReadCache.FolderName));
            Assert.Equal([$"{id}.jpeg"], Directory.GetFiles(Path.Combine(folder, ReadCache.FolderName)).Select(Path.GetFileName));
            Assert.Empty(Directory.GetDirectories(folder, "*.renders"));
        }

        using (var deleted = await b.DeleteImageAsync(posted))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        foreach (var client in new[] { a, b, cluster.Balancer })
        {
            Assert.Equal("[]", await client.GetStringAsync("/images"));
            foreach (var gone in new[] { original, thumbnail })
            {
                using var response = await client.GetAsync(gone);
                await response.AssertProblemAsync(HttpStatusCode.NotFound);
            }
        }

        Assert.DoesNotContain(await s3.KeysAsync(cluster.Bucket!), key => key.StartsWith(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_bucket_stopped_and_restarted_mid_run_loses_nothing_acknowledged()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis, s3: s3);
        var acknowledged = new ConcurrentDictionary<string, int>();
        var refusals = new ConcurrentBag<HttpStatusCode>();
        using var stop = new CancellationTokenSource();
        var uploads = Enumerable.Range(0, 2).Select(instance => Task.Run(async () =>
        {
            var client = cluster.Instances[instance].Client;
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var width = 200 + (10 * i) + instance;
                using var response = await client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(width, 150)));
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    var posted = await response.Content.ReadFromJsonAsync<JsonElement>();
                    Secrets.Remember(posted.GetProperty("delete_token").GetString()!);
                    acknowledged[posted.GetProperty("id").GetString()!] = width;
                }
                else
                {
                    // Refused with nothing stored, as a client is told to take it: it waits as long as Retry-After says.
                    await response.AssertProblemAsync(response.StatusCode == HttpStatusCode.TooManyRequests ? HttpStatusCode.TooManyRequests : HttpStatusCode.ServiceUnavailable);
                    refusals.Add(response.StatusCode);
                    await Task.Delay(response.Headers.RetryAfter!.Delta!.Value);
                }
            }
        })).ToList();

        // A failed upload task ends the wait at once: its assertion is what the test reports.
        bool Failed() => uploads.Any(task => task.IsCompleted);
        await Loopback.WaitUntilAsync(() => acknowledged.Count >= 4 || Failed(), "no uploads were acknowledged before the outage");
        await s3.StopGatewayAsync();
        await Loopback.WaitUntilAsync(() => refusals.Contains(HttpStatusCode.ServiceUnavailable) || Failed(), "no upload was refused while the bucket was away");
        await s3.StartGatewayAsync();
        var back = acknowledged.Count;
        await Loopback.WaitUntilAsync(() => acknowledged.Count >= back + 4 || Failed(), "uploads did not come back with the bucket", timeoutSeconds: 30);
        await stop.CancelAsync();
        await Task.WhenAll(uploads);

        var keys = await s3.KeysAsync(cluster.Bucket!);
        foreach (var client in cluster.Instances.Select(instance => instance.Client))
        {
            var listed = (await client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().Select(image => image.GetProperty("id").GetString()!).ToHashSet();
            Assert.Equal(acknowledged.Keys.ToHashSet(), listed);
            foreach (var (id, width) in acknowledged)
            {
                Assert.Equal((width, 150), TestImages.SizeOf(await client.GetByteArrayAsync($"/images/{id}.jpeg")));
                Assert.Contains($"{id}.jpeg", keys);
            }
        }
    }
}
