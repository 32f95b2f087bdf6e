using System.Net;

namespace Asgilook.Tests;

/// <summary>A truncated upload stores nothing; ids are random (the engines' own promises are in EngineContractTests).</summary>
public sealed class ImagingTests
{
    [Theory]
    [InlineData(".jpg")]
    [InlineData(".png")]
    [InlineData(".gif")]
    [InlineData(".webp")]
    public async Task TruncatedImageIsRejectedAndNothingStored(string format)
    {
        await using var app = await TestApp.StartAsync();
        var whole = TestImages.RandomEllipses(format: format);

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(whole[..(whole.Length / 2)]));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        Assert.Empty(app.StoredFiles());
    }

    [Fact]
    public void RandomIdsAreVersionFourAndDistinct()
    {
        var generator = new Images.RandomImageIdGenerator();
        var ids = Enumerable.Range(0, 100).Select(_ => generator.NewId()).ToHashSet();

        Assert.Equal(100, ids.Count);
        Assert.All(ids, id => Assert.Equal(4, id.Version));
    }
}
