using Asgilook.Client;

namespace Asgilook.Tests;

/// <summary>The example client (examples/Asgilook.Client) against the real app.</summary>
public sealed class ClientTests
{
    [Fact]
    public async Task UploadListFetchThumbnailAndDelete()
    {
        await using var app = await TestApp.StartAsync();
        var client = new AsgilookClient(app.Client);

        var image = await client.UploadAsync(TestImages.RandomEllipses());
        var listed = await client.ListAsync();
        var original = await client.GetImageAsync(image.Id);
        var small = await client.GetThumbnailAsync(image, 100);
        var large = await client.GetThumbnailAsync(image, 300);
        var huge = await client.GetThumbnailAsync(image, 5000);
        var avif = await client.GetThumbnailAsync(image, 300, mediaType: "image/avif");

        Assert.Equal(TestApp.PredictableIds[0], image.Id);
        Assert.Equal((640, 360), (image.Width, image.Height));
        Assert.Equal([image.Id], listed.Select(item => item.Id));
        Assert.Equal((640, 360), TestImages.SizeOf(original!));
        Assert.Equal((160, 90), TestImages.SizeOf(small));
        Assert.Equal((320, 180), TestImages.SizeOf(large));
        Assert.Equal((320, 180), TestImages.SizeOf(huge));
        Assert.Equal(((320, 180), "heifload_buffer"), (TestImages.SizeOf(avif), TestImages.FormatOf(avif)));
        Assert.Equal(["image/avif", "image/webp", "image/jpeg"], image.Sources!.Keys);

        Assert.NotNull(image.DeleteToken);
        Assert.Null(Assert.Single(listed).DeleteToken);
        var wrong = await Assert.ThrowsAsync<AsgilookProblemException>(() => client.DeleteAsync(image.Id, "not-its-token"));
        Assert.Equal(403, wrong.Status);
        Assert.True(await client.DeleteAsync(image.Id, image.DeleteToken!));
        Assert.False(await client.DeleteAsync(image.Id, image.DeleteToken!));
        Assert.Null(await client.GetImageAsync(image.Id));
        Assert.Empty(await client.ListAsync());
    }

    [Fact]
    public async Task TheClientBlocksContentWithAnAdminKeyAndTellsABlockedUploadByItsType()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:AdminKeys:0"] = Secrets.AdminKey });
        var client = new AsgilookClient(app.Client);
        var photo = TestImages.RandomEllipses(320, 240);
        var image = await client.UploadAsync(photo);
        Secrets.Remember(image.DeleteToken!);

        Assert.True(await client.DeleteAsync(image.Id, Secrets.AdminKey, block: true));
        var blocked = await Assert.ThrowsAsync<AsgilookProblemException>(() => client.UploadAsync(photo));

        Assert.Equal((422, AsgilookProblemException.BlockedContent), (blocked.Status, blocked.Type));
    }

    [Fact]
    public async Task TheClientTellsAnAnimatedImageAndFetchesItsMovingWebp()
    {
        await using var app = await TestApp.StartAsync();
        var client = new AsgilookClient(app.Client);

        var image = await client.UploadAsync(TestImages.Animated(320, 240, frames: 3, ".gif"));
        Secrets.Remember(image.DeleteToken!);
        var still = await client.UploadAsync(TestImages.RandomEllipses(320, 240));
        Secrets.Remember(still.DeleteToken!);

        Assert.Equal((true, 3), (image.Animated, image.Frames));
        Assert.Equal((false, (int?)null), (still.Animated, still.Frames));
        using var webp = NetVips.Image.WebploadBuffer(await client.GetThumbnailAsync(image, 160, mediaType: "image/webp"), n: -1);
        Assert.Equal(3, webp.Height / webp.PageHeight);
    }

    [Fact]
    public async Task TheClientTellsAModerationRefusalByItsTypeAndCarriesTheHooksReason()
    {
        await using var hook = await HookServer.StartAsync();
        hook.Answer = HookServer.Answering(403, "text/plain", "Off-topic for this community.");
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:Moderation:Url"] = hook.Url });

        var refused = await Assert.ThrowsAsync<AsgilookProblemException>(() => new AsgilookClient(app.Client).UploadAsync(TestImages.RandomEllipses(320, 240)));

        Assert.Equal((422, AsgilookProblemException.ModerationRefused, "Off-topic for this community."), (refused.Status, refused.Type, refused.Detail));
    }

    [Fact]
    public async Task TheClientReadsItsKeysUsageAndTellsAQuotaRefusalByItsType()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
            ["Asgilook:Quotas:ImagesPerKey"] = "1",
        });
        var client = new AsgilookClient(app.Client, Secrets.UploadKey);
        var image = await client.UploadAsync(TestImages.RandomEllipses(320, 240));
        Secrets.Remember(image.DeleteToken!);

        var full = await Assert.ThrowsAsync<AsgilookProblemException>(() => client.UploadAsync(TestImages.RandomEllipses(320, 240)));
        var usage = await client.GetUsageAsync();

        Assert.Equal((507, AsgilookProblemException.QuotaExceeded), (full.Status, full.Type));
        Assert.Equal((1L, 1L, (long?)null), (usage.Images, usage.Limits.Images, usage.Limits.Bytes));
        Assert.Equal((await client.GetImageAsync(image.Id))!.LongLength, usage.Bytes);
    }

    [Fact]
    public async Task UploadKeyIsSentAndARateLimitIsWaitedOutWhenAsked()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Asgilook:UploadKeys:0"] = Secrets.UploadKey,
            ["Asgilook:RateLimits:UploadsPerMinute"] = "12",
        });
        var patient = new AsgilookClient(app.Client, Secrets.UploadKey, waitWhenRateLimited: TimeSpan.FromSeconds(10));
        var impatient = new AsgilookClient(app.Client, Secrets.UploadKey);
        var waits = new List<TimeSpan>();
        patient.RateLimited += waits.Add;
        var png = TestImages.RandomEllipses(200, 100);

        // A fresh budget of 12 a minute: 12 pass at once, the 13th must wait for a token (5 s).
        await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => impatient.UploadAsync(png)));
        var refused = await Assert.ThrowsAsync<AsgilookProblemException>(() => impatient.UploadAsync(png));
        var waited = await patient.UploadAsync(png);

        Assert.Equal(429, refused.Status);
        Assert.NotEmpty(waits);
        Assert.All(waits, wait => Assert.InRange(wait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
        Assert.True(await impatient.DeleteAsync(waited.Id, Secrets.UploadKey)); // its uploader's key deletes it
        var anonymous = await Assert.ThrowsAsync<AsgilookProblemException>(() => new AsgilookClient(app.Client).UploadAsync(png));
        Assert.Equal(401, anonymous.Status);
    }

    [Fact]
    public async Task PagedListingFollowsTheNextLinks()
    {
        await using var app = await TestApp.StartAsync();
        var client = new AsgilookClient(app.Client);
        var png = TestImages.RandomEllipses(200, 100);
        var uploaded = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            uploaded.Add((await client.UploadAsync(png)).Id);
        }

        var paged = new List<Guid>();
        await foreach (var image in client.ListPagedAsync(pageSize: 2))
        {
            paged.Add(image.Id);
        }

        Assert.Equal(uploaded, paged);
    }

    [Fact]
    public async Task ProblemsBecomeExceptionsThatSayWhy()
    {
        await using var app = await TestApp.StartAsync();
        var client = new AsgilookClient(app.Client);

        var refused = await Assert.ThrowsAsync<AsgilookProblemException>(() => client.UploadAsync("not an image"u8.ToArray()));
        var tiny = await client.UploadAsync(TestImages.RandomEllipses(100, 100));

        Assert.Equal(400, refused.Status);
        Assert.Contains("text", refused.Detail);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetThumbnailAsync(tiny, 50));
    }
}
