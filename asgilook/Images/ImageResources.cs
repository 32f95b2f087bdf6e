using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Storage;
using Asgilook.Thumbnails;
using Microsoft.Extensions.Options;

namespace Asgilook.Images;

/// <summary>Builds an image's JSON (<see cref="ImageResource"/>) with this server's thumbnail sizes and formats: for the list, an upload's answer and the events stream.</summary>
public sealed class ImageResources(IOptions<AsgilookOptions> options, IImageProcessor processor)
{
    public ImageResource Of(StoredImage image) => Of(ImageUploaded.Of(image));

    public ImageResource Of(ImageUploaded image) => ImageResource.From(
        image.ImageId, image.Modified, image.Width, image.Height, ThumbnailLadder.Of(options.Value), processor.ThumbnailFormats, image.Placeholder, image.Frames);
}
