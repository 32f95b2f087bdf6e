using Asgilook.Configuration;
using Microsoft.Extensions.Options;

namespace Asgilook.Imaging;

/// <summary>Converts with the image engine in this process: what a conversion worker runs, and the whole upload path when <c>UploadDecoding=InProcess</c>.</summary>
public sealed class InProcessConverter(IImageProcessor processor, IOptions<AsgilookOptions> options) : IUploadConverter
{
    public UploadConversion Convert(byte[] upload)
    {
        var converted = processor.ConvertToJpeg(upload, options.Value.MaxPixels);
        return UploadConversion.Of(converted, processor.MakePlaceholder(converted.Jpeg));
    }
}
