using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Asgilook.Tests;

/// <summary>
/// The service starts on every developer's machine: its native decoders ship for macOS, Windows and Linux on x64 and
/// arm64, a decoder whose library cannot load refuses only its own formats, and the example scripts use no GNU-only option.
/// </summary>
public sealed class PortabilityTests(ITestOutputHelper output)
{
    /// <summary>
    /// A platform, and the native files libvips and ImageMagick need there. Magick.NET 15 ships no library for Intel
    /// Macs: there the service runs without ImageMagick, and only its formats are refused (the test below).
    /// </summary>
    public static TheoryData<string, string, string?> Platforms() => new()
    {
        { "osx-arm64", "libvips.42.dylib", "Magick.Native-Q8-arm64.dll.dylib" },
        { "osx-x64", "libvips.42.dylib", null },
        { "win-x64", "libvips-42.dll", "Magick.Native-Q8-x64.dll" },
        { "linux-arm64", "libvips.so.42", "Magick.Native-Q8-arm64.dll.so" },
    };

    [Trait(Needs.Trait, Needs.Processes)]
    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task APublishForThePlatformCarriesItsNativeDecoders(string platform, string libvips, string? imageMagick)
    {
        // Published from a copy, so that the RID-specific restore never touches the build the other tests run.
        using var copy = new TemporaryFolder("asgilook-publish-");
        CopySources(copy.Path);
        var published = Path.Combine(copy.Path, "out");

        var (exitCode, log) = await RunAsync("dotnet", [
            "publish", Path.Combine(copy.Path, "asgilook", "Asgilook.csproj"), "--configuration", "Release", "--runtime", platform,
            "--self-contained", "false", "-p:UseAppHost=false", "--output", published, "-nologo"], copy.Path);

        Assert.True(exitCode == 0, $"publish for {platform} failed:\n{log}");
        var files = Directory.GetFiles(published, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToHashSet();
        Assert.Contains(libvips, files);
        if (imageMagick is null)
        {
            Assert.DoesNotContain(files, file => file!.StartsWith("Magick.Native", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains(imageMagick, files);
        }

        Assert.Contains("Asgilook.dll", files);
    }

    [Trait(Needs.Trait, Needs.Processes)]
    [Fact]
    public async Task WithoutImageMagicksLibraryOnlyItsFormatsAreRefusedNamingIt()
    {
        // The build as a machine without ImageMagick's native library for its platform has it.
        using var build = new TemporaryFolder("asgilook-nomagick-");
        var (linked, log) = await RunAsync("cp", ["-al", AppContext.BaseDirectory.TrimEnd('/') + "/.", build.Path], build.Path);
        Assert.True(linked == 0, log);
        foreach (var native in Directory.GetFiles(Path.Combine(build.Path, "runtimes"), "Magick.Native-*", SearchOption.AllDirectories))
        {
            File.Delete(native); // a hard link: the tests' own build keeps its file
        }

        using var storage = new TemporaryFolder("asgilook-nomagick-storage-");
        await using var server = await ServerProcess.StartAsync(
            new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = storage.Path }, build.Path, [Path.Combine(build.Path, "Asgilook.dll")]);

        using var icon = await server.Client.PostAsync("/images", new ByteArrayContent(FormatTools.Convert(Quadrants.Png(64, 64), "ICO:out.ico", "-define", "icon:auto-resize=32")));
        var problem = await icon.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("ImageMagick, is not available here", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("Exception:", problem.GetProperty("detail").GetString());

        using var png = await server.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));
        Assert.Equal(HttpStatusCode.Created, png.StatusCode);
        Assert.Single(storage.Images());
        output.WriteLine(problem.GetProperty("detail").GetString());
    }

    [Fact]
    public void TheExampleScriptsUseNoGnuOnlyOption()
    {
        string[] gnuOnly = ["mktemp --", "mktemp -p", "sed -i ", "stat -c", "readlink -f", "date +%s%N", "grep -P", "--suffix", "xargs -r", "timeout "];
        var scripts = Directory.GetFiles(Path.Combine(Repository.Root, "examples"), "*.sh");
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            var text = File.ReadAllText(script);
            Assert.All(gnuOnly, option => Assert.False(text.Contains(option, StringComparison.Ordinal), $"{Path.GetFileName(script)} uses GNU-only '{option.Trim()}'"));
        }
    }

    private static void CopySources(string destination)
    {
        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            File.Copy(Path.Combine(Repository.Root, file), Path.Combine(destination, file));
        }

        // The service's sources, and the gallery it embeds.
        foreach (var folder in new[] { "asgilook", Path.Combine("examples", "gallery") })
        {
            var source = Path.Combine(Repository.Root, folder);
            foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(source, file);
                if (relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    continue;
                }

                var target = Path.Combine(destination, folder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
    }

    private static async Task<(int ExitCode, string Log)> RunAsync(string program, string[] arguments, string folder)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
