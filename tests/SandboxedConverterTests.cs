using Asgilook.Configuration;
using Asgilook.Imaging;
using Asgilook.Operations;
using Asgilook.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Asgilook.Tests;

/// <summary>
/// The server's side of a conversion worker, in this process: real workers held to their ceiling and deadline, and
/// stand-in workers (small shell scripts) that do what a worker taken over by a hostile file could do.
/// </summary>
public sealed class SandboxedConverterTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<AsgilookMetrics>().BuildServiceProvider();
    private readonly TemporaryFolder _scripts = new("asgilook-stand-ins-");

    [Fact]
    public void ARealWorkerConvertsAndTheServerHashesTheJpegItself()
    {
        using var converter = Real(new AsgilookOptions());
        var conversion = converter.Convert(TestImages.RandomEllipses(320, 200));

        Assert.Equal((320, 200), (conversion.Image.Width, conversion.Image.Height));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(conversion.Image.Jpeg)), conversion.Sha256);
        Assert.True(Placeholders.IsWellFormed(conversion.Placeholder));
        Assert.Equal(1, converter.Live);
        Assert.Single(converter.IdleWorkerIds); // reused for the next upload
    }

    [Fact]
    public void AWorkerPastItsCeilingIsKilledAndTheUploadIsOverMemory()
    {
        using var converter = Real(new AsgilookOptions { SandboxMemoryMegabytes = 256 });
        var rejection = Assert.Throws<RejectedImageException>(() => converter.Convert(CraftedImages.SvgFilterBomb(6000)));

        Assert.Equal(Rejection.OverMemory, rejection.Reason);
        Assert.Contains("256 MiB a conversion worker may have", rejection.Message);
        Assert.Equal(0, converter.Live);
        Assert.Equal((200, 100), Size(converter.Convert(TestImages.RandomEllipses(200, 100)))); // a new one takes the next
    }

    [Fact]
    public void AWorkerPastItsDeadlineIsKilledAndTheUploadTookTooLong()
    {
        using var converter = Real(new AsgilookOptions { ImageWorkTimeout = TimeSpan.FromMilliseconds(200), SandboxMemoryMegabytes = 4096 });
        var rejection = Assert.Throws<RejectedImageException>(() => converter.Convert(CraftedImages.SvgFilterBomb(7000)));

        Assert.Equal(Rejection.TookTooLong, rejection.Reason);
        Assert.Contains("ImageWorkTimeout", rejection.Message);
    }

    [Fact]
    public void AWorkerThatBreaksTheProtocolIsEndedAndTheUploadRefused()
    {
        using var converter = StandIn("printf 'REDY'; head -c 8 >/dev/null; printf 'RPL1\\x09'; sleep 5");
        var rejection = Assert.Throws<RejectedImageException>(() => converter.Convert([1, 2, 3]));

        Assert.Equal(Rejection.DecoderFailed, rejection.Reason);
        Assert.Equal(0, converter.Live);
    }

    [Fact]
    public void AJpegThatIsNotWhatAsgilookWritesIsNeverKept()
    {
        // A converted reply of 10x10 with a well-formed placeholder, no animation, and a "JPEG" of four bytes.
        var preview = "data:image/webp;base64,AAAA";
        var reply = "RPL1\\x01\\x0a\\x00\\x00\\x00\\x0a\\x00\\x00\\x00" + $"\\x{preview.Length:x2}\\x00\\x00\\x00{preview}" +
            "\\x07\\x00\\x00\\x00#123456\\x04\\x00\\x00\\x00" + "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00" /* no animation */ + "\\xff\\xd8\\xff\\xd9";
        using var converter = StandIn($"printf 'REDY'; head -c 8 >/dev/null; printf '{reply}'; sleep 5");
        var rejection = Assert.Throws<RejectedImageException>(() => converter.Convert([1, 2, 3]));

        Assert.Equal(Rejection.DecoderFailed, rejection.Reason);
        Assert.Equal(1, converter.Live); // it kept to the protocol: refused for what it answered, not ended for how
    }

    [Fact]
    public void ARefusalsMessageIsHeldToPrintableText()
    {
        using var converter = StandIn("printf 'REDY'; head -c 8 >/dev/null; printf 'RPL1\\x02\\x00\\x00\\x00\\x00\\x0c\\x00\\x00\\x00bad\\r\\nline\\x1b[m'; sleep 5");
        var rejection = Assert.Throws<RejectedImageException>(() => converter.Convert([1, 2, 3]));

        Assert.Equal((Rejection.Unreadable, "badline[m"), (rejection.Reason, rejection.Message));
    }

    [Fact]
    public void AWorkerThatDiesMidJobIsADecoderFailureAndOneReportingAFailedAllocationIsOverMemory()
    {
        using (var dies = StandIn("printf 'REDY'; head -c 8 >/dev/null; exit 3"))
        {
            Assert.Equal(Rejection.DecoderFailed, Assert.Throws<RejectedImageException>(() => dies.Convert([1, 2, 3])).Reason);
        }

        using var allocationFailed = StandIn("printf 'REDY'; head -c 8 >/dev/null; echo 'memory allocation of 4841000000 bytes failed' >&2; exit 134");
        Assert.Equal(Rejection.OverMemory, Assert.Throws<RejectedImageException>(() => allocationFailed.Convert([1, 2, 3])).Reason);
    }

    [Fact]
    public void AWorkerThatCannotStartMakesUploadsUnavailableNotWrong()
    {
        using var missing = new SandboxedConverter(
            new AsgilookOptions(), new WorkerLaunch("/nonexistent/asgilook-worker", [], new Dictionary<string, string>()), TimeSpan.FromSeconds(5),
            _services.GetRequiredService<AsgilookMetrics>(), NullLogger<SandboxedConverter>.Instance);
        Assert.Throws<WorkerUnavailableException>(() => missing.Convert([1, 2, 3]));

        using var silent = StandIn("sleep 30", readyWithin: TimeSpan.FromMilliseconds(300));
        Assert.Throws<WorkerUnavailableException>(() => silent.Convert([1, 2, 3]));

        using var early = StandIn("exit 0");
        Assert.Throws<WorkerUnavailableException>(() => early.Convert([1, 2, 3]));
    }

    public void Dispose()
    {
        _services.Dispose();
        _scripts.Dispose();
    }

    private static (int, int) Size(UploadConversion conversion) => (conversion.Image.Width, conversion.Image.Height);

    private SandboxedConverter Real(AsgilookOptions settings) =>
        new(Options.Create(settings), _services.GetRequiredService<AsgilookMetrics>(), NullLogger<SandboxedConverter>.Instance);

    /// <summary>A worker played by a shell script: what it writes on its standard output is what the server reads.</summary>
    private SandboxedConverter StandIn(string script, TimeSpan? readyWithin = null)
    {
        var path = Path.Combine(_scripts.Path, $"{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, script);
        return new SandboxedConverter(
            new AsgilookOptions(), new WorkerLaunch("/bin/bash", [path], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }),
            readyWithin ?? TimeSpan.FromSeconds(10), _services.GetRequiredService<AsgilookMetrics>(), NullLogger<SandboxedConverter>.Instance);
    }
}
