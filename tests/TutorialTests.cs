using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using NetVips;
using Xunit.Abstractions;

namespace Asgilook.Tests;

/// <summary>
/// Follows docs/tutorial/ literally, chapter after chapter, in one empty temporary folder, as a reader
/// would: runs every <c>$ command</c> of a console block and compares what it prints with what the chapter
/// shows (every line, for <c>dotnet</c> commands, whose restore and build lines vary), writes every file a
/// <c>&lt;!-- file: path --&gt;</c> block shows, starts the program a <c>&lt;!-- server --&gt;</c> block runs
/// (on a free port instead of 8000, its requests following it there), and after each chapter compares the
/// folder with the chapter's stage under docs/tutorial/stages/. With ASGILOOK_WRITE_TUTORIAL_STAGES=1 it
/// writes the stages instead.
/// </summary>
[Trait(Needs.Trait, Needs.Processes)]
public sealed partial class TutorialTests(ITestOutputHelper output)
{
    private static readonly string Tutorial = Path.Combine(Repository.Root, "docs", "tutorial");

    /// <summary>What a reader's folder holds besides the stage: build output, coverage, the reader's photo.</summary>
    private static readonly string[] NotInStages = ["bin", "obj", "coverage", "TestResults", "photo.jpg"];

    public static string[] Chapters() => [.. Directory.GetFiles(Tutorial, "0*.md").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task EveryChapterRunsAsItShowsFromAnEmptyFolder()
    {
        using var folder = new TemporaryFolder("asgilook-tutorial-");
        using var storage = new TemporaryFolder("asgilook-tutorial-storage-");
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        var environment = new Dictionary<string, string>
        {
            ["ASGI_LOOK_STORAGE_PATH"] = storage.Path,
            ["ASGI_LOOK_REDIS_HOST"] = $"127.0.0.1:{redis.Port}",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var times = new StringBuilder();
        await File.WriteAllBytesAsync(Path.Combine(folder.Path, "photo.jpg"), Photo());

        foreach (var chapter in Chapters().Where(path => Stage(path) is not null))
        {
            var name = Path.GetFileNameWithoutExtension(chapter);
            var clock = Stopwatch.StartNew();
            Process? server = null;
            var port = Loopback.FreePort();
            try
            {
                foreach (Match block in Block().Matches(await File.ReadAllTextAsync(chapter)))
                {
                    var body = block.Groups["body"].Value;
                    if (block.Groups["path"].Success)
                    {
                        var path = Path.Combine(folder.Path, block.Groups["path"].Value);
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        await File.WriteAllTextAsync(path, body + "\n");
                    }
                    else if (block.Groups["server"].Success)
                    {
                        server = StartServer(Commands(body).Single().Command, folder.Path, environment, port);
                        await WaitForAsync(port, server, name);
                    }
                    else if (block.Groups["lang"].Value == "console")
                    {
                        foreach (var (command, expected) in Commands(body))
                        {
                            await RunAsync(name, command, expected, folder.Path, environment, port, ids, fails: block.Groups["fails"].Success);
                        }
                    }
                }
            }
            finally
            {
                server?.Kill(entireProcessTree: true);
                server?.WaitForExit();
                server?.Dispose();
            }

            var stage = Stage(chapter)!;
            if (Environment.GetEnvironmentVariable("ASGILOOK_WRITE_TUTORIAL_STAGES") == "1")
            {
                WriteStage(folder.Path, stage);
            }
            else
            {
                AssertSameTree(name, folder.Path, stage);
            }

            times.AppendLine(CultureInfo.InvariantCulture, $"{name}: {clock.Elapsed.TotalSeconds:0} s");
        }

        output.WriteLine(times.ToString());
        if (Environment.GetEnvironmentVariable("ASGILOOK_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            await File.WriteAllTextAsync(Path.Combine(logs, "tutorial-times.txt"), times.ToString());
        }
    }

    [Fact]
    public void EveryChapterHasAStageOrIsTheLast()
    {
        var chapters = Chapters();
        Assert.True(chapters.Length >= 7, "the tutorial's seven chapters");
        Assert.All(chapters[..^1], chapter => Assert.True(Directory.Exists(Stage(chapter)), $"{chapter} has no stage"));
        Assert.Null(Stage(chapters[^1])); // from tutorial to production: points into the real codebase instead
    }

    /// <summary>The chapter's stage folder (stages/NN-name), or null for a chapter that builds nothing.</summary>
    private static string? Stage(string chapter)
    {
        var stage = Path.Combine(Tutorial, "stages", Path.GetFileNameWithoutExtension(chapter));
        return Directory.Exists(stage) || Environment.GetEnvironmentVariable("ASGILOOK_WRITE_TUTORIAL_STAGES") == "1" && !chapter.Contains("07-", StringComparison.Ordinal)
            ? stage
            : null;
    }

    /// <summary>A console block's commands, each with the lines it prints.</summary>
    private static List<(string Command, string[] Expected)> Commands(string body)
    {
        var commands = new List<(string, string[])>();
        foreach (var step in ("\n" + body).Split("\n$ ", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = step.Split('\n');
            commands.Add((lines[0], lines[1..]));
        }

        return commands;
    }

    private static async Task RunAsync(
        string chapter, string command, string[] expected, string folder, Dictionary<string, string> environment, int port, Dictionary<string, string> ids,
        bool fails = false)
    {
        var actualCommand = Uuid().Replace(command.Replace("localhost:8000", $"127.0.0.1:{port}", StringComparison.Ordinal), id => ids.GetValueOrDefault(id.Value, id.Value));
        using var process = Process.Start(Bash(actualCommand, folder, environment))!;
        var printed = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var actual = (await printed).Replace("\r", "", StringComparison.Ordinal).TrimEnd('\n');
        var failure = $"{chapter}: `{command}` exited {process.ExitCode} and printed\n{actual}\n{await errors}";
        // A block marked <!-- fails --> shows a command failing on purpose (a test seen to fail): it must fail.
        Assert.True(fails ? process.ExitCode != 0 : process.ExitCode == 0, failure);

        if (command.StartsWith("dotnet ", StringComparison.Ordinal))
        {
            var lines = Normalise(actual).Split('\n');
            Assert.All(expected.Where(line => line.Length > 0), line => Assert.True(lines.Any(printedLine => printedLine.Contains(Normalise(line), StringComparison.Ordinal)), $"{failure}\nmissing: {line}"));
            return;
        }

        Assert.True(Normalise(string.Join('\n', expected)) == Normalise(actual), $"{failure}\nexpected:\n{string.Join('\n', expected)}");
        // The ids the chapter shows stand for the ones this run made, in the commands that follow.
        foreach (var (shown, made) in Uuid().Matches(string.Join('\n', expected)).Zip(Uuid().Matches(actual)))
        {
            ids[shown.Value] = made.Value;
        }
    }

    private static Process StartServer(string command, string folder, Dictionary<string, string> environment, int port)
    {
        var process = Process.Start(Bash($"exec {command} -- --urls http://127.0.0.1:{port}", folder, environment))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The command as a reader's shell runs it, in the reader's folder, with the test's environment.</summary>
    private static ProcessStartInfo Bash(string command, string folder, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return start;
    }

    private static async Task WaitForAsync(int port, Process server, string chapter)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(server.HasExited, $"{chapter}: the program stopped before it listened");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromMinutes(3))
            {
                await Task.Delay(200);
            }
        }
    }

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
            .Where(path => !NotInStages.Any(excluded => path == excluded || path.StartsWith(excluded + "/", StringComparison.Ordinal) || path.Contains("/" + excluded + "/", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal);

    private static void AssertSameTree(string chapter, string folder, string stage)
    {
        Assert.Equal(SourceFiles(stage).ToArray(), SourceFiles(folder).ToArray());
        foreach (var file in SourceFiles(stage))
        {
            Assert.True(
                File.ReadAllText(Path.Combine(stage, file)).ReplaceLineEndings("\n") == File.ReadAllText(Path.Combine(folder, file)).ReplaceLineEndings("\n"),
                $"{chapter}: following the chapter, {file} differs from stages/{chapter}/{file}");
        }
    }

    private static void WriteStage(string folder, string stage)
    {
        if (Directory.Exists(stage))
        {
            Directory.Delete(stage, recursive: true);
        }

        foreach (var file in SourceFiles(folder))
        {
            var target = Path.Combine(stage, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(folder, file), target);
        }
    }

    /// <summary>The reader's photo.jpg: a 1280 × 960 JPEG, the same on every run.</summary>
    private static byte[] Photo()
    {
        using var xyz = Image.Xyz(1280, 960);
        using var x = xyz[0];
        using var y = xyz[1];
        using var red = x * 0.19;
        using var green = y * 0.26;
        using var sum = x + y;
        using var blue = sum * 0.11;
        using var joined = red.Bandjoin(green, blue);
        using var rgb = joined.Cast(Enums.BandFormat.Uchar);
        return rgb.JpegsaveBuffer(q: 90);
    }

    /// <summary>Replaces what differs from run to run: ids, dates, trace ids, durations.</summary>
    private static string Normalise(string text)
    {
        text = Uuid().Replace(text.Replace("\r", "", StringComparison.Ordinal), "<id>");
        text = HttpDate().Replace(text, "<date>");
        text = TraceId().Replace(text, "\"traceId\":\"<trace>\"");
        return Duration().Replace(text, "Duration: <time> -").TrimEnd('\n', ' ');
    }

    [GeneratedRegex(@"(?:<!-- (?:file: (?<path>\S+)|(?<server>server)|(?<fails>fails)) -->\n)?```(?<lang>\w*)\n(?<body>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex Block();

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Uuid();

    [GeneratedRegex(@"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")]
    private static partial Regex HttpDate();

    [GeneratedRegex("\"traceId\":\"[^\"]*\"")]
    private static partial Regex TraceId();

    [GeneratedRegex(@"Duration: [^-]+-")]
    private static partial Regex Duration();
}
