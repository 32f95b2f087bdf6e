using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Storage;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// The service on a bucket of a real S3 server (Ceph radosgw): the originals and kept renders live there, the storage
/// folder holds none; reads are as good as files; and a bucket that goes away, stalls or refuses the key is answered
/// with 503s and named by readiness, never hangs the service, and is recovered from without a restart.
/// </summary>
[Trait(Needs.Trait, Needs.S3)]
[Collection(S3Collection.Name)]
public sealed class BucketStorageTests(S3Server s3)
{
    private static readonly Dictionary<string, string?> Quick = new()
    {
        ["Asgilook:S3:Timeout"] = "00:00:01",
        ["Asgilook:DatabaseStartupWait"] = "00:00:00",
    };

    /// <param name="through">A proxy the app reaches the S3 server through, to stall it at will.</param>
    private Dictionary<string, string?> On(string bucket, IReadOnlyDictionary<string, string?>? more = null, StallingProxy? through = null)
    {
        var settings = s3.Configuration(bucket);
        foreach (var (key, value) in Quick.Concat(more ?? new Dictionary<string, string?>()))
        {
            settings[key] = value;
        }

        if (through is not null)
        {
            settings["Asgilook:S3:Endpoint"] = $"http://127.0.0.1:{through.Port}";
        }

        return settings;
    }

    private StallingProxy ProxyToS3() => new(new Uri(s3.Endpoint).Port);

    [Fact]
    public async Task Originals_and_renders_live_in_the_bucket_and_read_as_files_do()
    {
        var bucket = s3.NewBucket();
        await using var app = await TestApp.StartAsync(settings: On(bucket));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(800, 600));
        var (id, uri) = (posted.GetProperty("id").GetString()!, posted.GetProperty("image").GetString()!);

        var stored = await s3.GetAsync(bucket, $"{id}.jpeg");
        Assert.NotNull(stored);
        Assert.Empty(app.StoredFiles());
        Assert.Equal(stored, await app.Client.GetByteArrayAsync(uri));

        using (var range = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { Range = new RangeHeaderValue(100, 1099) } })
        using (var partial = await app.Client.SendAsync(range))
        {
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(stored[100..1100], await partial.Content.ReadAsByteArrayAsync());
            Assert.Equal($"bytes 100-1099/{stored.Length}", partial.Content.Headers.ContentRange!.ToString());
        }

        using (var suffix = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { Range = new RangeHeaderValue(null, 10) } })
        using (var tail = await app.Client.SendAsync(suffix))
        {
            Assert.Equal(stored[^10..], await tail.Content.ReadAsByteArrayAsync());
        }

        using (var beyond = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { Range = new RangeHeaderValue(stored.Length + 10, null) } })
        using (var unsatisfiable = await app.Client.SendAsync(beyond))
        {
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        }

        using var first = await app.Client.GetAsync(uri);
        using (var revalidation = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { IfNoneMatch = { first.Headers.ETag! } } })
        using (var notModified = await app.Client.SendAsync(revalidation))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        using (var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, uri)))
        {
            Assert.Equal(stored.Length, head.Content.Headers.ContentLength);
            Assert.Equal(first.Headers.ETag, head.Headers.ETag);
        }

        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
        Assert.Equal((400, 300), TestImages.SizeOf(await app.Client.GetByteArrayAsync(thumbnail)));
        // Kept after it was answered: a moment later, in the bucket.
        await Loopback.WaitUntilAsync(async () => (await s3.KeysAsync(bucket)).Any(key => key.StartsWith($"{id}.renders/", StringComparison.Ordinal)), "the render was not kept");
        var render = Assert.Single(await s3.KeysAsync(bucket), key => key.StartsWith($"{id}.renders/", StringComparison.Ordinal));
        Assert.Equal((400, 300), TestImages.SizeOf((await s3.GetAsync(bucket, render))!));
        using (var client = s3.Client())
        {
            // For whoever reads the bucket directly (a CDN): each object says what it is, and nothing else.
            var (renderHead, originalHead) = (await client.GetObjectMetadataAsync(bucket, render), await client.GetObjectMetadataAsync(bucket, $"{id}.jpeg"));
            Assert.Equal(("image/jpeg", "image/jpeg"), (renderHead.Headers.ContentType, originalHead.Headers.ContentType));
            Assert.Null(originalHead.Headers.ContentEncoding);
        }

        Assert.Empty(Directory.GetDirectories(app.StoragePath, "*.renders"));

        var ready = await app.Client.GetFromJsonAsync<JsonElement>("/health/ready");
        Assert.Equal($"bucket {bucket} at {s3.Endpoint} is writable", ready.GetProperty("checks").GetProperty("storage").GetProperty("description").GetString());

        using (var deleted = await app.Client.DeleteImageAsync(posted))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.DoesNotContain(await s3.KeysAsync(bucket), key => key.StartsWith(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Identical_uploads_are_one_object_in_the_bucket_until_the_last_is_deleted()
    {
        var bucket = s3.NewBucket();
        await using var app = await TestApp.StartAsync(settings: On(bucket));
        var photo = TestImages.RandomEllipses(640, 480);
        var first = await app.Client.PostImageAsync(photo);
        var second = await app.Client.PostImageAsync(photo);
        var key = Assert.Single(await s3.KeysAsync(bucket), key => key.EndsWith(".jpeg", StringComparison.Ordinal));
        Assert.Equal($"{first.GetProperty("id").GetString()}.jpeg", key);

        using (var deleted = await app.Client.DeleteImageAsync(first))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Contains(key, await s3.KeysAsync(bucket));
        Assert.Equal(await s3.GetAsync(bucket, key), await app.Client.GetByteArrayAsync(second.GetProperty("image").GetString()));

        using (var deleted = await app.Client.DeleteImageAsync(second))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.DoesNotContain(key, await s3.KeysAsync(bucket));
    }

    [Fact]
    public async Task A_restarted_instance_answers_a_thumbnail_from_the_render_kept_in_the_bucket_and_never_a_damaged_one()
    {
        var bucket = s3.NewBucket();
        using var storage = new TemporaryFolder("asgilook-bucket-sqlite-");
        JsonElement posted;
        string thumbnail, webp;
        await using (var app = await TestApp.StartAsync(settings: On(bucket), storagePath: storage.Path))
        {
            posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(800, 600));
            thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
            webp = thumbnail.Replace(".jpeg", ".webp", StringComparison.Ordinal);
            await app.Client.GetByteArrayAsync(thumbnail);
            await app.Client.GetByteArrayAsync(webp);
        }

        var id = posted.GetProperty("id").GetString()!;
        var renders = (await s3.KeysAsync(bucket)).Where(key => key.StartsWith($"{id}.renders/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, renders.Count);
        var damaged = renders.Single(key => key.EndsWith(".webp", StringComparison.Ordinal));
        await s3.PutAsync(bucket, damaged, "RIFF\0\0\0\0WEBPVP8 truncated by someone"u8.ToArray());

        // A new cache: the answers come from the bucket.
        await using (var restarted = await TestApp.StartAsync(settings: On(bucket), storagePath: storage.Path))
        {
            using var kept = await restarted.Client.GetAsync(thumbnail);
            Assert.Contains("kept", string.Join(",", kept.Headers.GetValues("Server-Timing")));
            Assert.Equal((await s3.GetAsync(bucket, renders.Single(key => key.EndsWith(".jpeg", StringComparison.Ordinal))))!, await kept.Content.ReadAsByteArrayAsync());

            using var rendered = await restarted.Client.GetAsync(webp);
            Assert.DoesNotContain("kept", string.Join(",", rendered.Headers.GetValues("Server-Timing")));
            Assert.Equal((400, 300), TestImages.SizeOf(await rendered.Content.ReadAsByteArrayAsync()));
            Assert.Contains(restarted.Logs.Warnings(nameof(Thumbnails.ThumbnailRenderer)), line => line.Contains("not a whole image", StringComparison.Ordinal));
        }

        Assert.Equal((400, 300), TestImages.SizeOf((await s3.GetAsync(bucket, damaged))!));
    }

    [Fact]
    public async Task While_the_bucket_is_away_uploads_answer_503_cached_answers_stay_and_it_comes_back_without_a_restart()
    {
        var bucket = s3.NewBucket();
        await using var app = await TestApp.StartAsync(listen: true, settings: On(bucket, new Dictionary<string, string?>
        {
            ["Asgilook:LeftoverGracePeriod"] = "00:00:00",
            ["Asgilook:S3:SweepInterval"] = "00:00:01",
        }));
        var kept = await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 480));
        var doomed = await app.Client.PostImageAsync(TestImages.RandomEllipses(640, 480));
        var thumbnail = kept.GetProperty("thumbnails")[0].GetString()!;
        var thumbnailBytes = await app.Client.GetByteArrayAsync(thumbnail);
        var list = await app.Client.GetStringAsync("/images");
        var original = (await s3.GetAsync(bucket, $"{kept.GetProperty("id").GetString()}.jpeg"))!;

        await s3.StopGatewayAsync();
        try
        {
            using (var refused = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(320, 240))))
            {
                var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                Assert.Equal("Image store unavailable", problem.GetProperty("title").GetString());
                Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
            }

            // Found away a moment ago: the next upload is refused before its body is read (and converted for nothing):
            // its answer comes with most of the body still held back.
            var (status, _, body) = await RawUpload.SendHeadersAndSomeOfTheBodyAsync(app.Port!.Value, announced: 4_000_000, sent: 1000);
            Assert.Equal((503, true), (status, body.Contains("Image store unavailable", StringComparison.Ordinal)));
            Assert.True(await app.Client.MetricAsync("asgilook_store_duration_seconds_count", "outcome=\"unavailable\"") >= 1);

            Assert.Equal(list, await app.Client.GetStringAsync("/images"));
            Assert.Equal(thumbnailBytes, await app.Client.GetByteArrayAsync(thumbnail));
            // An original this instance keeps a copy of is still answered, and its thumbnails not yet rendered are
            // rendered from that copy (kept in the bucket once it is back, if ever).
            Assert.Equal(original, await app.Client.GetByteArrayAsync(kept.GetProperty("image").GetString()));
            Assert.Equal((160, 120), TestImages.SizeOf(await app.Client.GetByteArrayAsync(kept.GetProperty("thumbnails")[1].GetString())));

            using (var ready = await app.Client.GetAsync("/health/ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                var storage = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("storage");
                Assert.StartsWith($"bucket {bucket} at {s3.Endpoint} does not answer (", storage.GetProperty("description").GetString());
            }

            // A delete still unlists; the bucket's copy goes once it is back.
            using var deleted = await app.Client.DeleteImageAsync(doomed);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        finally
        {
            await s3.StartGatewayAsync();
        }

        // Back: readiness says so (any call that reaches the bucket ends the refusals), and uploads are taken again.
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/health/ready")).StatusCode);
        var after = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240));
        Assert.NotNull(await s3.GetAsync(bucket, $"{after.GetProperty("id").GetString()}.jpeg"));
        var doomedKey = $"{doomed.GetProperty("id").GetString()}.jpeg";
        await Loopback.WaitUntilAsync(async () => !(await s3.KeysAsync(bucket)).Contains(doomedKey), "the sweep did not delete the unlisted image's object");
        Assert.Contains($"{kept.GetProperty("id").GetString()}.jpeg", await s3.KeysAsync(bucket));
        Assert.DoesNotContain(app.Logs.Entries, entry => entry.Message.Contains(S3Server.SecretKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bucket_that_stalls_answers_503_within_the_timeout_and_recovers_when_it_flows()
    {
        var bucket = s3.NewBucket();
        await using var proxy = ProxyToS3();
        await using var app = await TestApp.StartAsync(settings: On(bucket, through: proxy));
        var before = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240));

        proxy.Stalled = true;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        using (var refused = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses(320, 240))))
        {
            await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }

        // Two attempts of one second each, and nothing hangs: not a timed test, a bound far from the default 100 s.
        Assert.InRange(waited.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/images")).StatusCode);

        proxy.Stalled = false;
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/health/ready")).StatusCode);
        var after = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240));
        var listed = await app.Client.GetFromJsonAsync<JsonElement>("/images");
        Assert.Equal(
            new[] { before, after }.Select(image => image.GetProperty("id").GetString()),
            listed.EnumerateArray().Select(image => image.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Thumbnails_are_answered_while_a_stalled_bucket_cannot_keep_them_and_the_renders_waiting_are_bounded()
    {
        var bucket = s3.NewBucket();
        await using var proxy = ProxyToS3();
        await using var app = await TestApp.StartAsync(settings: On(bucket, through: proxy, more: new Dictionary<string, string?>
        {
            ["Asgilook:RateLimits:RendersPerMinute"] = "0",
            ["Asgilook:ImageQueuePerClient"] = "1000", // one test client asking for 45 at once
            // Long enough that every render's copy is still waiting for the stalled bucket when the last is rendered.
            ["Asgilook:S3:Timeout"] = "00:00:05",
        }));
        var thumbnails = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(800, 600));
            foreach (var (_, sources) in posted.GetProperty("sources").EnumerateObject().Select(format => (format.Name, format.Value)))
            {
                thumbnails.AddRange(sources.EnumerateArray().Select(source => source.GetProperty("uri").GetString()!));
            }
        }

        proxy.Stalled = true;
        try
        {
            // The originals are copies on this instance: every thumbnail renders and is answered, all at once; their
            // copies wait for the bucket, at most 32 of them, the others not kept.
            var answers = await Task.WhenAll(thumbnails.Select(thumbnail => app.Client.GetAsync(thumbnail)));
            Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.StatusCode));

            Assert.True(thumbnails.Count > Thumbnails.ThumbnailRenderer.MaxKeepsInFlight);
            Assert.Contains(app.Logs.Warnings(nameof(Thumbnails.ThumbnailRenderer)), line => line.Contains("too many renders being kept", StringComparison.Ordinal));
        }
        finally
        {
            proxy.Stalled = false;
        }
    }

    [Fact]
    public async Task An_original_cut_short_by_a_stalling_bucket_ends_its_answer_and_the_next_is_whole()
    {
        var bucket = s3.NewBucket();
        await using var proxy = ProxyToS3();
        await using var app = await TestApp.StartAsync(settings: On(bucket, through: proxy, more: new Dictionary<string, string?>
        {
            ["Asgilook:S3:ReadCacheMegabytes"] = "0", // every read from the bucket
        }));
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240));
        var uri = posted.GetProperty("image").GetString()!;
        // Larger than every buffer between the bucket and the answer, so that a stall is met mid-body: an object put in
        // its place by hand (the answer is the object's, whatever it is).
        var whole = new byte[24 * 1024 * 1024];
        Random.Shared.NextBytes(whole);
        await s3.PutAsync(bucket, $"{posted.GetProperty("id").GetString()}.jpeg", whole);

        using (var response = await app.Client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(whole.Length, response.Content.Headers.ContentLength);
            await using var body = await response.Content.ReadAsStreamAsync();
            var start = new byte[1000];
            await body.ReadExactlyAsync(start);
            proxy.Stalled = true;
            // The bucket stops sending mid-body: the answer ends short (never padded, never a 200 with the wrong bytes).
            await Assert.ThrowsAnyAsync<Exception>(async () => await body.CopyToAsync(Stream.Null));
        }

        proxy.Stalled = false;
        Assert.Equal(whole, await app.Client.GetByteArrayAsync(uri));
        Assert.DoesNotContain(app.Logs.Entries, entry => (entry.Exception?.ToString() ?? "").Contains("Amazon", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_secret_stops_the_start_naming_the_bucket_and_S3s_refusal_never_the_secret()
    {
        var wrong = Secrets.KeyPrefix + "wrong-s3-secret-0123456789";
        Secrets.Remember(wrong);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(settings: On(s3.NewBucket(), new Dictionary<string, string?>
        {
            ["Asgilook:S3:SecretKey"] = wrong,
        })));

        Assert.Contains($"The image store (bucket asgilook-", failure.Message);
        Assert.Contains("403 SignatureDoesNotMatch", failure.Message);
        Assert.DoesNotContain(wrong, failure.Message);
        Assert.DoesNotContain(S3Server.SecretKey, failure.Message);
    }

    [Fact]
    public async Task An_object_no_image_lists_is_collected_after_the_grace_and_a_listed_one_never()
    {
        var bucket = s3.NewBucket();
        await using var app = await TestApp.StartAsync(settings: On(bucket, new Dictionary<string, string?>
        {
            ["Asgilook:LeftoverGracePeriod"] = "00:00:02",
            ["Asgilook:S3:SweepInterval"] = "00:00:01",
        }));
        var listed = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240));
        var orphan = $"{Guid.NewGuid()}.jpeg";
        await s3.PutAsync(bucket, orphan, TestImages.RandomEllipses(32, 24, ".jpg"));
        await s3.PutAsync(bucket, "someone-elses-file.txt", "not ours"u8.ToArray());

        await Loopback.WaitUntilAsync(async () => !(await s3.KeysAsync(bucket)).Contains(orphan), "the sweep did not collect the orphan");

        var keys = await s3.KeysAsync(bucket);
        Assert.Contains($"{listed.GetProperty("id").GetString()}.jpeg", keys);
        Assert.Contains("someone-elses-file.txt", keys);
        Assert.Contains(BlobKeys.Identity, keys);
    }
}
