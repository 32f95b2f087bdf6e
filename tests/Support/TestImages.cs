using System.Globalization;
using System.Text;
using NetVips;

namespace Asgilook.Tests;

/// <summary>Test images drawn at run time, like the tutorial's fixture: random ellipses, different every run.</summary>
public static class TestImages
{
    /// <summary>A PNG of yellow ellipses with red outlines on black (the tutorial's <c>png_image</c>).</summary>
    public static byte[] RandomEllipses(int width = 640, int height = 360, string format = ".png", int ellipses = 32)
    {
        var svg = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>");
        svg.Append("<rect width='100%' height='100%' fill='black'/>");
        for (var i = 0; i < ellipses; i++)
        {
            var (x0, x1) = Ordered(Random.Shared.Next(width), Random.Shared.Next(width));
            var (y0, y1) = Ordered(Random.Shared.Next(height), Random.Shared.Next(height));
            svg.Append(CultureInfo.InvariantCulture,
                $"<ellipse cx='{(x0 + x1) / 2.0}' cy='{(y0 + y1) / 2.0}' rx='{(x1 - x0) / 2.0}' ry='{(y1 - y0) / 2.0}' fill='yellow' stroke='red'/>");
        }

        svg.Append("</svg>");
        using var image = Image.NewFromBuffer(Encoding.UTF8.GetBytes(svg.ToString()));
        using var opaque = image.Flatten();
        return opaque.WriteToBuffer(format);
    }

    /// <summary>An RGB PNG of random noise: it compresses to nothing, so its JPEG is large (about 1 MB at 1600x1200).</summary>
    public static byte[] Noise(int width, int height)
    {
        using var noise = Image.Gaussnoise(width, height, mean: 128, sigma: 60);
        using var bytes = noise.Cast(Enums.BandFormat.Uchar);
        using var rgb = bytes.Bandjoin(bytes, bytes);
        return rgb.PngsaveBuffer(compression: 1);
    }

    /// <summary>A flat grey PNG (of one band, or three): a few kilobytes to send, however many megapixels it declares.</summary>
    public static byte[] Flat(int width, int height, int bands = 1)
    {
        using var black = Image.Black(width, height, bands: bands);
        using var grey = black + 128;
        using var bytes = grey.Cast(Enums.BandFormat.Uchar);
        return bytes.PngsaveBuffer(compression: 9);
    }

    /// <summary>
    /// An animated GIF or WebP (<paramref name="format"/> <c>.gif</c> or <c>.webp</c>) whose frame n is flat
    /// <see cref="FrameColour"/>(n), shown for 40 + 10 n ms, looping <paramref name="loop"/> times (0: for ever).
    /// </summary>
    public static byte[] Animated(int width, int height, int frames, string format = ".gif", int loop = 0)
    {
        var pages = Enumerable.Range(0, frames).Select(n =>
        {
            using var black = Image.Black(width, height, bands: 3);
            using var coloured = black + FrameColour(n).Select(channel => (double)channel).ToArray();
            return coloured.Cast(Enums.BandFormat.Uchar);
        }).ToArray();
        try
        {
            using var strip = Image.Arrayjoin(pages, across: 1);
            using var animation = strip.Mutate(image =>
            {
                image.Set(GValue.GIntType, "page-height", height);
                image.Set(GValue.ArrayIntType, "delay", Enumerable.Range(0, frames).Select(Delay).ToArray());
                image.Set(GValue.GIntType, "loop", loop);
            });
            return format == ".gif" ? animation.GifsaveBuffer() : animation.WebpsaveBuffer(lossless: true);
        }
        finally
        {
            foreach (var page in pages)
            {
                page.Dispose();
            }
        }
    }

    /// <summary>The flat colour of frame n of <see cref="Animated"/>: far apart from its neighbours' in every channel.</summary>
    public static byte[] FrameColour(int n) => [(byte)(n * 85 % 256), (byte)(255 - (n * 85 % 256)), (byte)(n % 2 == 0 ? 40 : 220)];

    /// <summary>How long frame n of <see cref="Animated"/> is shown, in milliseconds.</summary>
    public static int Delay(int n) => 40 + (10 * n);

    /// <summary>The pixel size of encoded image bytes (the tutorial's <c>image_size</c>).</summary>
    public static (int Width, int Height) SizeOf(byte[] data)
    {
        using var image = Image.NewFromBuffer(data);
        return (image.Width, image.Height);
    }

    /// <summary>The loader libvips picked for the bytes, e.g. "jpegload_buffer".</summary>
    public static string FormatOf(byte[] data)
    {
        using var image = Image.NewFromBuffer(data);
        return (string)image.Get("vips-loader");
    }

    private static (int, int) Ordered(int a, int b) => a <= b ? (a, b) : (b, a);
}
