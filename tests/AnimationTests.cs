using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Configuration;
using Asgilook.Imaging;
using Microsoft.Extensions.Options;
using NetVips;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// Animated GIF and WebP stay animated (imgproxy#242): the stored JPEG is the first frame, the image says it is animated
/// and how many frames it has, and every listed size has an animated WebP thumbnail with the frames in order, their
/// delays and the loop count; JPEG and AVIF thumbnails are the first frame. MaxFrames and every frame's pixels bound it.
/// </summary>
public sealed class AnimationTests
{
    private static readonly VipsImageProcessor Vips = new(Options.Create(new AsgilookOptions()));

    [Theory]
    [InlineData(".gif")]
    [InlineData(".webp")]
    public void The_engine_keeps_every_frame_at_half_size_with_its_delay_and_the_loop_count(string format)
    {
        var upload = TestImages.Animated(320, 240, frames: 6, format, loop: 3);

        var converted = Vips.ConvertToJpeg(upload, 100_000_000);

        Assert.Equal((320, 240), (converted.Width, converted.Height));
        AssertColour(TestImages.FrameColour(0), converted.Jpeg);
        var animation = Assert.IsType<Animation>(converted.Animation);
        Assert.Equal(6, animation.Frames);
        AssertFrames(animation.Webp, 160, 120, 6, loop: 3);

        var thumbnail = Vips.AnimatedThumbnail(animation.Webp, 80, 60);
        AssertFrames(thumbnail.Bytes, 80, 60, 6, loop: 3);
    }

    [Fact]
    public void A_still_gif_and_a_one_frame_webp_keep_no_animation()
    {
        Assert.Null(Vips.ConvertToJpeg(TestImages.Animated(64, 64, frames: 1, ".gif"), 100_000_000).Animation);
        Assert.Null(Vips.ConvertToJpeg(TestImages.Animated(64, 64, frames: 1, ".webp"), 100_000_000).Animation);
    }

    [Fact]
    public async Task An_animated_gif_is_listed_as_animated_and_its_webp_thumbnails_have_its_frames_in_order_after_a_restart_too()
    {
        using var storage = new TemporaryFolder("asgilook-animated-");
        var gif = TestImages.Animated(640, 480, frames: 5, ".gif", loop: 2);
        string uri;
        await using (var app = await TestApp.StartAsync(storagePath: storage.Path))
        {
            var posted = await app.Client.PostImageAsync(gif);
            Assert.Equal((true, 5), (posted.GetProperty("animated").GetBoolean(), posted.GetProperty("frames").GetInt32()));
            uri = posted.GetProperty("image").GetString()!;
            AssertColour(TestImages.FrameColour(0), await app.Client.GetByteArrayAsync(uri));

            var still = await app.Client.PostImageAsync(TestImages.RandomEllipses(320, 240));
            Assert.False(still.TryGetProperty("animated", out _));
            Assert.False(still.TryGetProperty("frames", out _));
        }

        await using var restarted = await TestApp.StartAsync(storagePath: storage.Path);
        var image = (await restarted.Client.GetFromJsonAsync<JsonElement>("/images")).EnumerateArray().First();
        Assert.Equal((uri, true, 5), (image.GetProperty("image").GetString(), image.GetProperty("animated").GetBoolean(), image.GetProperty("frames").GetInt32()));
        var sources = image.GetProperty("sources");
        foreach (var webp in sources.GetProperty("image/webp").EnumerateArray())
        {
            using var response = await restarted.Client.GetAsync(webp.GetProperty("uri").GetString());
            Assert.Equal("image/webp", response.ContentType());
            AssertFrames(await response.Content.ReadAsByteArrayAsync(), webp.GetProperty("width").GetInt32(), webp.GetProperty("height").GetInt32(), 5, loop: 2);
        }

        foreach (var type in new[] { "image/jpeg", "image/avif" })
        {
            var largest = sources.GetProperty(type)[0];
            var still = await restarted.Client.GetByteArrayAsync(largest.GetProperty("uri").GetString());
            using var decoded = Image.NewFromBuffer(still);
            Assert.Equal(largest.GetProperty("height").GetInt32(), decoded.Height);
            Assert.True(!decoded.Contains("n-pages") || (int)decoded.Get("n-pages") == 1); // one frame
            AssertColour(TestImages.FrameColour(0), decoded);
        }
    }

    [Fact]
    public async Task A_gif_of_10000_tiny_frames_is_refused_by_MaxFrames_and_nothing_is_stored()
    {
        await using var app = await TestApp.StartAsync();
        var gif = TestImages.Animated(4, 4, frames: 10_000, ".gif");

        using var refused = await app.Client.PostAsync("/images", new ByteArrayContent(gif));

        var detail = (await refused.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge)).GetProperty("detail").GetString();
        Assert.Equal("The GIF has 10,000 frames, more than the 300 an animation may have (MaxFrames).", detail);
        Assert.Empty(app.StoredFiles());
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
    }

    [Fact]
    public async Task A_webp_whose_frames_pass_the_pixel_limit_only_together_is_refused()
    {
        await using var app = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:MaxPixels"] = "1000000" });
        var webp = TestImages.Animated(200, 200, frames: 40, ".webp"); // 40,000 pixels a frame, 1,600,000 in all

        using var refused = await app.Client.PostAsync("/images", new ByteArrayContent(webp));

        var detail = (await refused.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge)).GetProperty("detail").GetString();
        Assert.Equal("The WebP has 40 frames of 200x200 pixels, 1,600,000 in all, more than the 1,000,000 allowed.", detail);
        Assert.Empty(app.StoredFiles());

        // The same frames, fewer of them, fit.
        var fewer = await app.Client.PostImageAsync(TestImages.Animated(200, 200, frames: 20, ".webp"));
        Assert.Equal(20, fewer.GetProperty("frames").GetInt32());
    }

    /// <summary>Decodes every frame of an animated WebP and checks each against the frame it was made from.</summary>
    private static void AssertFrames(byte[] webp, int width, int height, int frames, int loop)
    {
        using var all = Image.WebploadBuffer(webp, n: -1);
        Assert.Equal((width, height * frames, height), (all.Width, all.Height, all.PageHeight));
        Assert.Equal(Enumerable.Range(0, frames).Select(TestImages.Delay).ToArray(), (int[])all.Get("delay"));
        Assert.Equal(loop, (int)all.Get("loop"));
        for (var n = 0; n < frames; n++)
        {
            using var frame = all.Crop(0, n * height, width, height);
            AssertColour(TestImages.FrameColour(n), frame);
        }
    }

    private static void AssertColour(byte[] expected, byte[] encoded)
    {
        using var image = Image.NewFromBuffer(encoded);
        AssertColour(expected, image);
    }

    private static void AssertColour(byte[] expected, Image image)
    {
        for (var band = 0; band < 3; band++)
        {
            using var one = image.ExtractBand(band);
            Assert.InRange(one.Avg(), expected[band] - 12, expected[band] + 12);
        }
    }
}
