using NetVips;

namespace Asgilook.Tests;

/// <summary>
/// A picture whose four quadrants have four colours (red, green / blue, white), so that a stored image can be
/// checked for orientation (a turn or a flip moves the colours) and colour in one look, through lossy codecs too.
/// </summary>
public static class Quadrants
{
    public static readonly double[][] Colours = [[220, 30, 30], [30, 200, 30], [30, 30, 220], [255, 255, 255]];

    /// <summary>Black and white instead, for formats of one bit a pixel.</summary>
    public static readonly double[][] BlackAndWhite = [[0, 0, 0], [255, 255, 255], [255, 255, 255], [0, 0, 0]];

    public static Image Draw(int width = 96, int height = 64, double[][]? colours = null)
    {
        colours ??= Colours;
        using var topLeft = Solid(width / 2, height / 2, colours[0]);
        using var topRight = Solid(width - (width / 2), height / 2, colours[1]);
        using var bottomLeft = Solid(width / 2, height - (height / 2), colours[2]);
        using var bottomRight = Solid(width - (width / 2), height - (height / 2), colours[3]);
        using var top = topLeft.Join(topRight, Enums.Direction.Horizontal);
        using var bottom = bottomLeft.Join(bottomRight, Enums.Direction.Horizontal);
        using var joined = top.Join(bottom, Enums.Direction.Vertical);
        return joined.Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);
    }

    public static byte[] Png(int width = 96, int height = 64, double[][]? colours = null)
    {
        using var image = Draw(width, height, colours);
        return image.PngsaveBuffer();
    }

    /// <summary>Asserts that <paramref name="stored"/> (any format libvips reads) is the quadrants, upright, at the size given.</summary>
    public static void AssertUpright(byte[] stored, int width, int height, double tolerance = 12, double[][]? colours = null, string? what = null)
    {
        colours ??= Colours;
        using var image = Image.NewFromBuffer(stored);
        Assert.True((width, height) == (image.Width, image.Height), $"{what}: stored {image.Width}x{image.Height}, expected {width}x{height}");
        (int X, int Y)[] centres = [(width / 4, height / 4), (width * 3 / 4, height / 4), (width / 4, height * 3 / 4), (width * 3 / 4, height * 3 / 4)];
        for (var quadrant = 0; quadrant < 4; quadrant++)
        {
            var actual = image.Getpoint(centres[quadrant].X, centres[quadrant].Y);
            var expected = colours[quadrant];
            var close = Enumerable.Range(0, 3).All(band => Math.Abs(actual[band] - expected[band]) <= tolerance);
            Assert.True(close, $"{what}: quadrant {quadrant} is {string.Join(",", actual.Take(3).Select(v => (int)v))}, expected {string.Join(",", expected)}");
        }
    }

    private static Image Solid(int width, int height, double[] colour) => Image.Black(width, height).NewFromImage(colour);
}
