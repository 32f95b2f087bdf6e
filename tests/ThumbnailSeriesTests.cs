using Asgilook.Thumbnails;

namespace Asgilook.Tests;

public sealed class ThumbnailSeriesTests
{
    private static readonly ThumbnailLadder Ladder = new(64, long.MaxValue);

    [Theory]
    [InlineData(10000, 10000, 12_000_000, "2500x2500 1250x1250 625x625 312x312 156x156 78x78")]
    [InlineData(8000, 6000, 12_000_000, "4000x3000 2000x1500 1000x750 500x375 250x187 125x93")]
    [InlineData(4000, 3000, 3_000_000, "2000x1500 1000x750 500x375 250x187 125x93")]
    [InlineData(4000, 3000, 2_999_999, "1000x750 500x375 250x187 125x93")]
    public void SizesOverTheMostPixelsAreNotOffered(int width, int height, long maxPixels, string expected) =>
        Assert.Equal(expected, string.Join(' ', ThumbnailSeries.Sizes(width, height, new ThumbnailLadder(64, maxPixels)).Select(size => $"{size.Width}x{size.Height}")));

    [Theory]
    [InlineData(640, 360, 64, "320x180 160x90")]
    [InlineData(462, 462, 64, "231x231 115x115")]
    [InlineData(641, 361, 64, "320x180 160x90")]
    [InlineData(1023, 767, 64, "511x383 255x191 127x95")]
    [InlineData(128, 128, 64, "64x64")]
    [InlineData(127, 4000, 64, "")]
    [InlineData(100, 100, 64, "")]
    [InlineData(1, 1, 64, "")]
    [InlineData(10000, 300, 64, "5000x150 2500x75")]
    [InlineData(300, 10000, 64, "150x5000 75x2500")]
    [InlineData(640, 360, 100, "320x180")]
    [InlineData(8, 8, 1, "4x4 2x2 1x1")]
    public void MipmapSeries(int width, int height, int minSize, string expected)
    {
        var sizes = ThumbnailSeries.Sizes(width, height, new ThumbnailLadder(minSize, long.MaxValue)).Select(size => $"{size.Width}x{size.Height}");

        Assert.Equal(expected, string.Join(' ', sizes));
    }

    [Fact]
    public void EachSizeIsAboutHalfThePrevious()
    {
        var sizes = ThumbnailSeries.Sizes(4000, 3000, new ThumbnailLadder(64, long.MaxValue)).ToArray();

        Assert.All(sizes.Zip(sizes.Skip(1)), pair =>
        {
            Assert.InRange(pair.First.Width / 2 - pair.Second.Width, 0, 1);
            Assert.InRange(pair.First.Height / 2 - pair.Second.Height, 0, 1);
        });
        Assert.All(sizes, size => Assert.True(size.Width >= 64 && size.Height >= 64));
    }

    [Fact]
    public void ContainsOnlyListedSizes()
    {
        Assert.True(ThumbnailSeries.Contains(640, 360, Ladder, (160, 90)));
        Assert.False(ThumbnailSeries.Contains(640, 360, Ladder, (80, 45)));
        Assert.False(ThumbnailSeries.Contains(640, 360, Ladder, (640, 360)));
    }

    [Fact]
    public void UriUsesTheLowercaseUuid() =>
        Assert.Equal(
            "/thumbnails/36562622-48e5-4a61-be67-e426b11821ed/320x180.jpeg",
            ThumbnailSeries.Uri(Guid.Parse("36562622-48E5-4A61-BE67-E426B11821ED"), 320, 180));
}
