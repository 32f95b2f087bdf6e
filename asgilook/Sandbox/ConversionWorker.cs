using Asgilook.Configuration;
using Asgilook.Imaging;
using Microsoft.Extensions.Options;

namespace Asgilook.Sandbox;

/// <summary>
/// The conversion worker: the same program started with <see cref="Argument"/>, which never starts a web
/// server. It limits itself (<see cref="SandboxLimits"/>), says it is ready, then converts one upload at a
/// time from its standard input to its standard output (<see cref="SandboxProtocol"/>) until the server
/// closes the pipe. Every decoder runs here, so a decoder's bug costs this process, not the server.
/// </summary>
internal static class ConversionWorker
{
    /// <summary>The first argument that makes the program a worker.</summary>
    public const string Argument = "--asgilook-conversion-worker";

    public const string OverMemoryMessage = "Decoding the image needed more memory than a conversion worker may have";

    public static bool IsInvoked(string[] args) => args.Length > 0 && args[0] == Argument;

    /// <summary>The settings a worker needs, as the arguments that carry them to it.</summary>
    public static IEnumerable<string> ArgumentsFor(AsgilookOptions settings) =>
    [
        Argument,
        $"--Asgilook:{nameof(AsgilookOptions.ImageEngine)}={settings.ImageEngine}",
        $"--Asgilook:{nameof(AsgilookOptions.MaxPixels)}={settings.MaxPixels}",
        $"--Asgilook:{nameof(AsgilookOptions.MaxUploadBytes)}={settings.MaxUploadBytes}",
        $"--Asgilook:{nameof(AsgilookOptions.MaxDecodeMegabytes)}={settings.MaxDecodeMegabytes}",
        $"--Asgilook:{nameof(AsgilookOptions.ImageWorkTimeout)}={settings.ImageWorkTimeout:c}",
        $"--Asgilook:{nameof(AsgilookOptions.VipsThreads)}={settings.VipsThreads}",
        $"--Asgilook:{nameof(AsgilookOptions.SandboxMemoryMegabytes)}={settings.SandboxMemoryMegabytes}",
        // One decode at a time in a worker: ImageMagick's memory limit is this decode's alone.
        $"--Asgilook:{nameof(AsgilookOptions.ImageWorkers)}=1",
    ];

    public static int Run(string[] args)
    {
        var settings = new AsgilookOptions();
        new ConfigurationBuilder().AddCommandLine(args[1..]).Build().GetSection(AsgilookOptions.SectionName).Bind(settings);
        // The server kills a worker whose resident memory passes the ceiling; the kernel refuses it writable memory past four times
        // that, a backstop for an allocation touched too quickly for the server to see (libraries allocate far more than they
        // touch: cairo's surfaces are calloc'd, so a lower limit would fail them as "rendering errors" before they cost anything).
        SandboxLimits.Apply(4 * settings.SandboxMemoryMegabytes * 1024L * 1024L);
        NativeHeap.MapLargeBlocks();
        var options = Options.Create(settings);
        IImageProcessor engine = settings.ImageEngine is ImageEngine.ImageSharp ? new ImageSharpImageProcessor(options) : new VipsImageProcessor(options);
        var converter = new InProcessConverter(engine, options);

        using var input = Console.OpenStandardInput();
        using var output = Console.OpenStandardOutput();
        SandboxProtocol.WriteReady(output);
        while (SandboxProtocol.ReadJob(input, (int)Math.Min(settings.MaxUploadBytes, Array.MaxLength)) is { } upload)
        {
            // A backstop behind the server's own kill at the deadline: twice the deadline of CPU, and a few seconds more.
            SandboxLimits.AllowCpu((2 * settings.ImageWorkTimeout) + TimeSpan.FromSeconds(5));
            SandboxProtocol.WriteReply(output, Convert(converter, upload));
            // What a large upload took goes back before the next one (a full collection and a trim cost milliseconds,
            // so not after every small one); a worker that stays large is retired by the server.
            if (Environment.WorkingSet > settings.SandboxMemoryMegabytes * 1024L * 1024L / 4)
            {
                GC.Collect();
                NativeHeap.TrimNow();
            }
        }

        return 0;
    }

    private static WorkerReply Convert(InProcessConverter converter, byte[] upload)
    {
        try
        {
            var conversion = converter.Convert(upload);
            return new WorkerConverted(conversion.Image, conversion.Placeholder);
        }
        catch (RejectedImageException e) when (e.Reason is not Rejection.Unreadable)
        {
            return new WorkerRefused(e.Reason, e.Message);
        }
        catch (Exception e) when (RanOutOfMemory(e))
        {
            return new WorkerRefused(Rejection.OverMemory, OverMemoryMessage);
        }
        catch (RejectedImageException e)
        {
            return new WorkerRefused(e.Reason, e.Message);
        }
        catch (Exception)
        {
            // A failure the engines did not foresee: what it says is never shown.
            return new WorkerRefused(Rejection.Unreadable, "The image could not be decoded.");
        }
    }

    /// <summary>What the decoders say when an allocation is refused (glib, ImageMagick, OpenJPEG, libheif, libjxl, Rust's allocator).</summary>
    internal static readonly string[] AllocationFailures =
    [
        "out of memory", "unable to allocate", "failed to allocate", "memory allocation", "cannot allocate memory",
        "not enough memory", "insufficient memory", "exceeds system limits", "bad_alloc",
    ];

    /// <summary>An allocation refused under the worker's ceiling, whichever library made it and however it reported it.</summary>
    private static bool RanOutOfMemory(Exception e)
    {
        for (var cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is OutOfMemoryException or InsufficientMemoryException or SixLabors.ImageSharp.Memory.InvalidMemoryOperationException
                || AllocationFailures.Any(failure => cause.Message.Contains(failure, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }
}
