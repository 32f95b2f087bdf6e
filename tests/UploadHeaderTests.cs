using System.Buffers.Binary;
using System.Text;
using Asgilook.Imaging;

namespace Asgilook.Tests;

/// <summary>What the server reads of an upload with its own code, before any decoder: the declared size, and the header policies.</summary>
public sealed class UploadHeaderTests
{
    private static readonly ImageFormats.ImageLoader[] Everything = Enum.GetValues<ImageFormats.ImageLoader>().Where(loader => loader is not ImageFormats.ImageLoader.None).ToArray();

    [Theory]
    [InlineData(".jpg", 640, 360)]
    [InlineData(".png", 333, 222)]
    [InlineData(".gif", 120, 80)]
    [InlineData(".webp", 300, 200)]
    [InlineData(".webp[lossless]", 301, 201)]
    [InlineData(".tif", 200, 150)]
    [InlineData(".avif", 256, 128)]
    public void TheDeclaredSizeIsTheImagesSize(string format, int width, int height)
    {
        var image = TestImages.RandomEllipses(width, height, format);
        var header = UploadHeader.Inspect(image, Everything, "Vips", maxPixels: 100_000_000);
        Assert.Equal(((long)width, (long)height), header.Declared);
        Assert.Equal((long)width * height, header.PixelsOr(-1));
    }

    [Theory]
    [InlineData("<svg xmlns='http://www.w3.org/2000/svg' width='300' height='200'/>", 300, 200)]
    [InlineData("<svg xmlns='http://www.w3.org/2000/svg' width='300px' height=\"200.5\"/>", 300, 201)]
    [InlineData("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 640 480'/>", 640, 480)]
    public void AnSvgDeclaresItsSizeByItsAttributesOrItsViewBox(string svg, long width, long height) =>
        Assert.Equal((width, height), UploadHeader.Inspect(Encoding.UTF8.GetBytes(svg), Everything, "Vips", 100_000_000).Declared);

    [Fact]
    public void AHeaderDeclaringTooManyPixelsIsRefusedBeforeAnyDecoder()
    {
        var rejection = Assert.Throws<RejectedImageException>(() =>
            UploadHeader.Inspect(CraftedImages.PngDeclaring(20_000, 20_000), Everything, "Vips", maxPixels: 100_000_000));
        Assert.Equal(Rejection.TooManyPixels, rejection.Reason);
    }

    [Fact]
    public void AnUnreadHeaderCountsAsTheLargestAllowed() =>
        Assert.Equal(42, new UploadHeader(new ImageFormats.Format("JPEG XL", ImageFormats.ImageLoader.JpegXl), null).PixelsOr(42));

    [Theory]
    [InlineData("<rect width='10' height='10' fill='url(#g)'/><use href='#r'/><use xlink:href=\"#r\"/>")]
    [InlineData("<text x='1' y='10'>data is fine as a word, href too</text>")]
    public void AnSvgOfShapesAndItsOwnFragmentsIsTaken(string body) => Assert.Null(SvgPolicy.Problem(Svg(body)));

    [Theory]
    [InlineData("<image href='x.png'/>", "embeds a picture")]
    [InlineData("<svg:image href='#x'/>", "embeds a picture")]
    [InlineData("<filter id='f'><feImage href='#r'/></filter>", "embeds a picture")]
    [InlineData("<rect fill='url(data:image/png;base64,AAAA)'/>", "data: URL")]
    [InlineData("<style>@import 'x.css';</style>", "@import")]
    [InlineData("<use href='http://127.0.0.1/a.svg#b'/>", "outside itself")]
    [InlineData("<use xlink:href='file:///etc/passwd'/>", "outside itself")]
    [InlineData("<rect style='fill: url(http://127.0.0.1/p.svg#g)'/>", "outside itself")]
    [InlineData("<xi:include href='/etc/hostname' parse='text'/>", "outside itself")]
    public void AnSvgThatLoadsOrEmbedsAnythingIsRefusedNamingWhy(string body, string why)
    {
        var problem = SvgPolicy.Problem(Svg(body));
        Assert.NotNull(problem);
        Assert.Contains(why, problem);
    }

    [Theory]
    [InlineData("<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY a 'aaaaaaaa'>]><svg xmlns='http://www.w3.org/2000/svg'/>")]
    [InlineData("<!DOCTYPE svg [ ]><svg xmlns='http://www.w3.org/2000/svg'/>")]
    public void AnSvgDeclaringEntitiesIsRefused(string svg) => Assert.Contains("entities", SvgPolicy.Problem(Encoding.UTF8.GetBytes(svg)));

    [Fact]
    public void AnSvgWithThePublicDoctypeOfEditorsIsTaken() => Assert.Null(SvgPolicy.Problem(Encoding.UTF8.GetBytes(
        "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\"><svg xmlns='http://www.w3.org/2000/svg'/>")));

    [Fact]
    public void AWellFormedBmpHeaderPasses() => Assert.Null(FileStructure.BmpProblem(CraftedImages.Bmp()));

    [Theory]
    [InlineData(10, 0x7FFFFF00, "offset of its pixel data")]
    [InlineData(10, 20, "offset of its pixel data")]
    [InlineData(14, 41, "header size")]
    [InlineData(28, 7, "bit depth")]
    public void ABmpWhoseHeaderLiesIsRefused(int at, int value, string why)
    {
        var bmp = CraftedImages.Bmp();
        if (at == 28)
        {
            BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(at), (short)value);
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(at), value);
        }

        Assert.Contains(why, FileStructure.BmpProblem(bmp));
    }

    [Fact]
    public void ABmpCutShortIsRefused() => Assert.Contains("cut short", FileStructure.BmpProblem(CraftedImages.Bmp()[..20]));

    private static byte[] Svg(string body) => Encoding.UTF8.GetBytes(
        $"<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' width='10' height='10'>{body}</svg>");
}
