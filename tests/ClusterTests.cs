using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Asgilook.Tests;

/// <summary>
/// Several instances behind nginx, over a real PostgreSQL, a real Redis and one storage folder, as
/// <c>deploy/</c> runs them: what one instance does, every other one (and nginx) answers consistently.
/// </summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed class ClusterTests(PostgresServer postgres, RedisCacheBackend redis) : IClassFixture<PostgresServer>, IClassFixture<RedisCacheBackend>
{
    [Fact]
    public async Task UploadOnOneInstanceIsServedByTheOthersAndADeleteOnAnotherIsSeenEverywhere()
    {
        await using var cluster = await Cluster.StartAsync(3, postgres, redis);
        var (a, b, c) = (cluster.Instances[0].Client, cluster.Instances[1].Client, cluster.Instances[2].Client);
        var everyone = new[] { a, b, c, cluster.Balancer };

        var posted = await a.PostImageAsync(TestImages.RandomEllipses(1280, 720));
        var id = posted.GetProperty("id").GetString();
        var original = posted.GetProperty("image").GetString()!;
        var thumbnail = posted.GetProperty("thumbnails")[1].GetString()!;
        foreach (var client in everyone)
        {
            var listed = await client.GetFromJsonAsync<JsonElement>("/images");
            Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
            Assert.Equal((1280, 720), TestImages.SizeOf(await client.GetByteArrayAsync(original)));
            Assert.Equal((320, 180), TestImages.SizeOf(await client.GetByteArrayAsync(thumbnail)));
        }

        using (var deleted = await b.DeleteImageAsync(posted))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        foreach (var client in everyone)
        {
            // The thumbnail and the list were cached (shared Redis): the delete on B dropped them for all.
            Assert.Equal("[]", await client.GetStringAsync("/images"));
            foreach (var gone in new[] { original, thumbnail })
            {
                using var response = await client.GetAsync(gone);
                await response.AssertProblemAsync(HttpStatusCode.NotFound);
            }
        }
    }

    [Fact]
    public async Task EventsStreamedThroughNginxIncludeUploadsOnAnyInstanceAsTheyHappen()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis);
        using var stream = await cluster.Balancer.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.ContentType());
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.Equal(": listening", await reader.ReadLineAsync());

        // Whichever instance nginx chose for the stream, one of these uploads was made on the other.
        var first = await cluster.Instances[0].Client.PostImageAsync(TestImages.RandomEllipses());
        var second = await cluster.Instances[1].Client.PostImageAsync(TestImages.RandomEllipses());

        var seen = new List<string?>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (seen.Count < 2 && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                seen.Add(JsonSerializer.Deserialize<JsonElement>(line["data: ".Length..]).GetProperty("id").GetString());
            }
        }

        Assert.Equal([first.GetProperty("id").GetString(), second.GetProperty("id").GetString()], seen);
    }

    [Fact]
    public async Task ConcurrentMissesOnEveryInstanceRenderTheThumbnailOnce()
    {
        await using var cluster = await Cluster.StartAsync(3, postgres, redis);
        var posted = await cluster.Instances[0].Client.PostImageAsync(TestImages.RandomEllipses(3000, 2000));
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
        var clients = cluster.Instances.Select(instance => instance.Client).Append(cluster.Balancer).ToArray();
        Assert.Equal(0, await cluster.SumOfMetricAsync("asgilook_thumbnails_rendered_total"));

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => clients[i % clients.Length].GetAsync(thumbnail)));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(response => response.Content.ReadAsByteArrayAsync()));
        Assert.All(bodies, body => Assert.Equal(bodies[0], body));
        Assert.Equal(1, await cluster.SumOfMetricAsync("asgilook_thumbnails_rendered_total"));
        // The other 23 were served the one rendering: waiting for it, or finding it already stored (in the cache, or
        // as the kept render, for a request that took the fill lock once the render was kept but before it was cached).
        Assert.Equal(23, await cluster.SumOfMetricAsync("asgilook_cache_fill_waits_total", "outcome=\"filled\"")
            + await cluster.SumOfMetricAsync("asgilook_cache_lookups_total", "outcome=\"hit\"")
            + await cluster.SumOfMetricAsync("asgilook_thumbnails_read_total"));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task KillingAnInstanceDuringUploadsLeavesTheOthersServingAndNothingListedBroken()
    {
        await using var cluster = await Cluster.StartAsync(3, postgres, redis);
        var victim = cluster.Instances[0];
        var survivors = cluster.Instances.Skip(1).Select(instance => instance.Client).Append(cluster.Balancer).ToArray();
        var confirmed = new ConcurrentBag<string>();
        var png = TestImages.RandomEllipses(1920, 1080);
        var killed = false;

        // Four uploaders: one straight at the victim, three through nginx and the survivors.
        var uploaders = Enumerable.Range(0, 4).Select(uploader => Task.Run(async () =>
        {
            var client = uploader == 0 ? victim.Client : survivors[uploader - 1];
            for (var i = 0; i < 8; i++)
            {
                try
                {
                    using var response = await client.PostAsync("/images", new ByteArrayContent(png));
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        confirmed.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
                    }
                    else if (client == cluster.Balancer && response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        // An upload nginx had passed to the victim when it died: nginx never repeats a POST, it says so.
                        await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                    }
                    else
                    {
                        Assert.Fail($"an upload through a live instance answered {(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException) when (uploader == 0 && Volatile.Read(ref killed))
                {
                    return; // the connection to the killed instance broke, as it should
                }
            }
        })).ToList();
        await Loopback.WaitUntilAsync(() => confirmed.Count >= 4, "no uploads were confirmed", timeoutSeconds: 60);
        Volatile.Write(ref killed, true);
        await victim.KillAsync();
        await Task.WhenAll(uploaders);

        Assert.True(confirmed.Count >= 4 + 3 * 4, $"the survivors stopped taking uploads after the kill ({confirmed.Count} confirmed)");
        foreach (var client in survivors)
        {
            var listed = (await client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().Select(image => image.GetProperty("id").GetString()!).ToList();
            Assert.Subset(listed.ToHashSet(), confirmed.ToHashSet());
            foreach (var id in listed)
            {
                Assert.Equal((1920, 1080), TestImages.SizeOf(await client.GetByteArrayAsync($"/images/{id}.jpeg")));
            }
        }
    }

    [Fact]
    public async Task ListingThroughNginxThenDeletingEverythingFailsAndEachCredentialDeletesOnlyWhatItOwns()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis, new Dictionary<string, string?>
        {
            ["ASGI_LOOK_UPLOAD_KEYS"] = $"{Secrets.UploadKey},{Secrets.OtherUploadKey}",
        });
        var nginx = cluster.Balancer;
        var byKey = await nginx.PostImageAsync(TestImages.RandomEllipses(), Secrets.UploadKey);
        var byOther = await nginx.PostImageAsync(TestImages.RandomEllipses(), Secrets.OtherUploadKey);
        var third = await nginx.PostImageAsync(TestImages.RandomEllipses(), Secrets.OtherUploadKey);

        var listed = await nginx.GetFromJsonAsync<JsonElement>("/images");
        foreach (var image in listed.EnumerateArray().Select(image => image.GetProperty("image").GetString()!))
        {
            foreach (var instance in cluster.Instances.Select(instance => instance.Client).Append(nginx))
            {
                using var anonymous = await instance.DeleteAsync(image, credential: null);
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
                using var forged = await instance.DeleteAsync(image, "forged-" + Guid.NewGuid());
                Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            }
        }

        Assert.Equal(3, (await nginx.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
        Assert.Equal(3, Directory.GetFiles(cluster.StoragePath, "*.jpeg").Length);
        using (var notItsOwner = await nginx.DeleteAsync(byOther.GetProperty("image").GetString()!, Secrets.UploadKey))
        {
            Assert.Equal(HttpStatusCode.Forbidden, notItsOwner.StatusCode);
        }

        using (var owner = await cluster.Instances[0].Client.DeleteAsync(byKey.GetProperty("image").GetString()!, Secrets.UploadKey))
        {
            Assert.Equal(HttpStatusCode.NoContent, owner.StatusCode);
        }

        using (var token = await cluster.Instances[1].Client.DeleteImageAsync(byOther))
        {
            Assert.Equal(HttpStatusCode.NoContent, token.StatusCode);
        }

        using (var admin = await nginx.DeleteAsync(third.GetProperty("image").GetString()!, Secrets.AdminKey))
        {
            Assert.Equal(HttpStatusCode.NoContent, admin.StatusCode);
        }

        Assert.Equal("[]", await nginx.GetStringAsync("/images"));
    }

    [Fact]
    public async Task OneClientThroughNginxAcrossTwoInstancesHasOneBudgetAndLocalOnesWhileRedisIsAway()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis, new Dictionary<string, string?>
        {
            ["Asgilook__RateLimits__UploadsPerMinute"] = "6",
        });
        var png = TestImages.RandomEllipses(200, 100);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 9; i++)
        {
            using var response = await cluster.Balancer.PostAsync("/images", new ByteArrayContent(png));
            statuses.Add(response.StatusCode);
        }

        // nginx spreads the nine over both instances; together they let exactly the budget through.
        Assert.Equal(6, statuses.Count(status => status == HttpStatusCode.Created));
        Assert.Equal(3, statuses.Count(status => status == HttpStatusCode.TooManyRequests));
        Assert.True(await cluster.SumOfMetricAsync("http_server_request_duration_seconds_count", "http_response_status_code=\"429\"") == 3);
        Assert.All(await Task.WhenAll(cluster.Instances.Select(instance => InstanceServedUploadsAsync(instance))), served => Assert.True(served > 0, "nginx sent every upload to one instance"));

        await redis.Server.StopAsync();
        try
        {
            // Each instance now counts on its own: a fresh local budget of six each, never none and never unlimited.
            var whileAway = new List<HttpStatusCode>();
            for (var i = 0; i < 16; i++)
            {
                using var response = await cluster.Balancer.PostAsync("/images", new ByteArrayContent(png));
                whileAway.Add(response.StatusCode);
            }

            Assert.InRange(whileAway.Count(status => status == HttpStatusCode.Created), 6, 12);
            Assert.Contains(HttpStatusCode.TooManyRequests, whileAway);
        }
        finally
        {
            await redis.Server.StartAsync();
        }

        static async Task<double> InstanceServedUploadsAsync(ServerProcess instance)
        {
            var text = await instance.Client.GetStringAsync("/metrics");
            return text.Split('\n').Where(line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal) && line.Contains("http_request_method=\"POST\"", StringComparison.Ordinal))
                .Sum(line => double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task NginxLimitsEachClientBeforeTheInstancesDoAndSaysSoAsProblems()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis, new Dictionary<string, string?>
        {
            ["Asgilook__RateLimits__UploadsPerMinute"] = "0",
            ["Asgilook__MaxEventListenersPerClient"] = "100",
        });

        // A burst of uploads far past nginx's 5 a second (burst 20): the excess is nginx's 429, never reaching an instance.
        var uploads = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => cluster.Balancer.PostAsync("/images", new ByteArrayContent("not an image"u8.ToArray()))));
        var limited = uploads.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        var problem = await limited[0].AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("faster than this service takes", problem.GetProperty("detail").GetString());
        Assert.Equal("1", limited[0].Headers.GetValues("Retry-After").Single());
        Assert.Equal("nginx", limited[0].Headers.Server.ToString());

        // Event streams: at most 8 a client address, held open.
        var streams = new List<HttpResponseMessage>();
        for (var i = 0; i < 9; i++)
        {
            streams.Add(await cluster.Balancer.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead));
        }

        Assert.Equal(8, streams.Count(stream => stream.StatusCode == HttpStatusCode.OK));
        await streams[^1].AssertProblemAsync(HttpStatusCode.TooManyRequests);
        foreach (var response in uploads.Concat(streams))
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task WhilePostgresIsStoppedEveryInstanceAndNginxAnswer503AndAllRecover()
    {
        await using var cluster = await Cluster.StartAsync(2, postgres, redis);
        var clients = cluster.Instances.Select(instance => instance.Client).Append(cluster.Balancer).ToArray();
        await clients[0].PostImageAsync(TestImages.RandomEllipses());

        await postgres.StopAsync();
        try
        {
            foreach (var client in clients)
            {
                using var list = await client.GetAsync("/images?limit=5");
                var problem = await list.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                Assert.Equal("Image catalog unavailable", problem.GetProperty("title").GetString());
                Assert.Equal("5", list.Headers.GetValues("Retry-After").Single());
                using var upload = await client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
                await upload.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                using var ready = await client.GetAsync("/health/ready");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            }
        }
        finally
        {
            await postgres.StartAsync();
        }

        foreach (var client in clients)
        {
            await Loopback.WaitUntilAsync(() => AnswersAsync(client, "/images?limit=5"), "an instance did not recover after PostgreSQL came back", timeoutSeconds: 30);
            Assert.Single((await client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray());
        }

        Assert.Single(Directory.GetFiles(cluster.StoragePath, "*.jpeg"));
    }

    private static async Task<bool> AnswersAsync(HttpClient client, string uri)
    {
        using var response = await client.GetAsync(uri);
        return response.StatusCode == HttpStatusCode.OK;
    }
}
