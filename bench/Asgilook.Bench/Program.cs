using Asgilook.Bench;

// The limits Asgilook is measured against, on this machine, in the same run:
//   prepare <work>            make the benchmark images from real photos
//   plain <work> <seconds>    the honest limit: plain NetVips calls doing the minimum, on all cores
//   vips <work> <seconds>     Asgilook's own engine (conversion with its placeholder, thumbnails), on all cores
//   engine <Vips|ImageSharp> <work> <seconds>   the same, through the engine named
//   formats <work>            the thumbnail encoders' quality against JPEG q85 (SSIM), bytes and time
//   kestrel <port> <work> <redis host:port> [<s3 endpoint> <bucket>]   a bare endpoint answering the same bytes from memory,
//                             from Redis, from the file, and from the bucket with plain SDK calls
//   badday <base url> <work> <seconds> <pid>  attacks and a well-behaved client at once (bench/badday.sh)
//   community <images> <distinct>   bench/community.sh's distinct JPEGs and animated GIFs
//   animated <images> <runs>  the limit of an animated upload: plain NetVips, per GIF (bench/community.sh)
//   catalog <folder> <count>  ms per call: the dedup lookup, the add, and a plain SQLite INSERT (bench/community.sh)
return args switch
{
    ["prepare", var work, var photos] => Images.Prepare(work, photos),
    ["plain", var work, var seconds] => PlainVips.Run(work, TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture))),
    ["vips", var work, var seconds] => VipsLimit.Run(work, TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture))),
    ["engine", var engine, var work, var seconds] => VipsLimit.Run(
        work, TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)), Enum.Parse<Asgilook.Configuration.ImageEngine>(engine, ignoreCase: true)),
    ["formats", var work] => ThumbnailFormats.Run(work),
    ["kestrel", var port, var work, var redis] => await BareKestrel.RunAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), work, redis),
    ["kestrel", var port, var work, var redis, var s3, var bucket] => await BareKestrel.RunAsync(
        int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), work, redis, s3, bucket),
    ["badday", var url, var work, var seconds, var pid] => await BadDay.RunAsync(
        url, work, TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)), int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)),
    ["community", var images, var distinct] => Community.Prepare(images, int.Parse(distinct, System.Globalization.CultureInfo.InvariantCulture)),
    ["animated", var images, var runs] => Community.Limit(images, int.Parse(runs, System.Globalization.CultureInfo.InvariantCulture)),
    ["catalog", var folder, var count] => await CatalogCost.RunAsync(folder, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: prepare <work> <photos> | plain <work> <seconds> | vips <work> <seconds> | engine <name> <work> <seconds> | formats <work> | kestrel <port> <work> <redis> [<s3> <bucket>] | badday <url> <work> <seconds> <server pid> | community <images> <distinct> | animated <images> <runs> | catalog <folder> <count>");
    return 2;
}
