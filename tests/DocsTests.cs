using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Asgilook.Tests;

/// <summary>
/// docs/ stays true to the code: every snippet marked <c>&lt;!-- snippet: path[#name] --&gt;</c> is the
/// source (a whole file, or the lines between <c>// snippet: name</c> and <c>// end snippet</c>), and every
/// session marked <c>&lt;!-- session: examples/curl.sh --&gt;</c> shows lines that script really prints, and every
/// command in a block marked <c>&lt;!-- run --&gt;</c> prints what the doc shows.
/// </summary>
public sealed partial class DocsTests
{
    public static TheoryData<string, string, string> Snippets()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var doc in Pages())
        {
            foreach (Match match in SnippetBlock().Matches(File.ReadAllText(doc)))
            {
                data.Add(Path.GetFileName(doc), match.Groups["source"].Value, match.Groups["code"].Value);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void SnippetIsTheSource(string doc, string source, string shown)
    {
        var parts = source.Split('#');
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, parts[0]));
        if (parts.Length == 2)
        {
            var start = Array.FindIndex(lines, line => line.Trim() == $"// snippet: {parts[1]}");
            Assert.True(start >= 0, $"{doc}: {parts[0]} has no snippet '{parts[1]}'");
            var end = Array.FindIndex(lines, start, line => line.Trim() == "// end snippet");
            lines = lines[(start + 1)..end];
        }

        Assert.True(Dedent(lines) == Dedent(shown.TrimEnd('\n').Split('\n')), $"{doc}: the snippet of {source} has drifted from the source");
    }

    [Fact]
    public void WalkthroughHasSnippets() => Assert.True(Snippets().Count >= 8);

    [Fact]
    public async Task SessionShowsWhatTheScriptPrints()
    {
        var doc = File.ReadAllText(Path.Combine(Repository.Root, "docs", "tutorial", "07-from-tutorial-to-production.md"));
        var session = Assert.Single(SessionBlock().Matches(doc));
        var actual = Normalise(await ExampleScriptsTests.RunAgainstServerAsync("curl.sh"));

        foreach (var line in Normalise(session.Groups["output"].Value).Split('\n').Where(line => line.StartsWith("== ", StringComparison.Ordinal)))
        {
            Assert.Contains(line, actual);
        }
    }

    public static TheoryData<string, string> Commands()
    {
        var data = new TheoryData<string, string>();
        foreach (var doc in Pages())
        {
            foreach (Match match in RunBlock().Matches(File.ReadAllText(doc)))
            {
                data.Add(Path.GetFileName(doc), match.Groups["session"].Value);
            }
        }

        return data;
    }

    /// <summary>Each "$ command" of a block marked run is run against a live server; what follows it is what it prints ("..." for anything).</summary>
    [Trait(Needs.Trait, Needs.Processes)]
    [Theory]
    [MemberData(nameof(Commands))]
    public async Task CommandPrintsWhatTheDocShows(string doc, string session)
    {
        using var temporary = new TemporaryFolder("asgilook-docs-");
        var storage = Directory.CreateDirectory(Path.Combine(temporary.Path, "storage")).FullName;
        // The reader's folder: a session may upload the photo.png it names.
        var folder = Directory.CreateDirectory(Path.Combine(temporary.Path, "reader")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(folder, "photo.png"), TestImages.RandomEllipses());
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = storage, ["ASGI_LOOK_REDIS_HOST"] = null });
        // The ids and delete tokens a doc shows stand for the ones this run made, in the commands that follow.
        var made = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var step in session.Split("$ ", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = step.TrimEnd('\n').Split('\n');
            var command = made.Aggregate(lines[0], (text, shown) => text.Replace(shown.Key, shown.Value, StringComparison.Ordinal))
                .Replace("localhost:8000", $"127.0.0.1:{server.Port}", StringComparison.Ordinal);
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = folder };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(command);
            using var process = Process.Start(start)!;
            var raw = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var printed = Normalise(raw);

            var shownOutput = string.Join("\n", lines[1..]);
            var expected = "^" + string.Join("\n", lines[1..].Select(line => Regex.Escape(Normalise(line)).Replace(@"\.\.\.", ".*", StringComparison.Ordinal))) + "$";
            Assert.True(Regex.IsMatch(printed.TrimEnd('\n'), expected, RegexOptions.Singleline), $"{doc}: `{lines[0]}` printed\n{printed}");
            foreach (var (shown, actual) in Uuid().Matches(shownOutput).Zip(Uuid().Matches(raw)))
            {
                made[shown.Value] = actual.Value;
            }

            foreach (var (shown, actual) in DeleteToken().Matches(shownOutput).Zip(DeleteToken().Matches(raw)))
            {
                made[shown.Groups["token"].Value] = actual.Groups["token"].Value;
            }
        }
    }

    /// <summary>The README and every page under docs/ (the tutorial's stages hold code, not pages).</summary>
    private static IEnumerable<string> Pages() =>
        Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md", SearchOption.AllDirectories)
            .Where(page => !page.Contains($"{Path.DirectorySeparatorChar}stages{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Prepend(Path.Combine(Repository.Root, "README.md"));

    [Fact]
    public void TheReadmeWelcomesInAtMost150Lines() =>
        Assert.InRange(File.ReadAllLines(Path.Combine(Repository.Root, "README.md")).Length, 20, 150);

    /// <summary>Every relative link of the README and the pages leads to a file that exists, and to a heading it has.</summary>
    [Fact]
    public void EveryLinkLeadsSomewhere()
    {
        var broken = new List<string>();
        var checkedLinks = 0;
        foreach (var page in Pages())
        {
            var text = FencedCode().Replace(File.ReadAllText(page), "");
            foreach (Match link in MarkdownLink().Matches(text))
            {
                var target = link.Groups["target"].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                checkedLinks++;
                var (file, anchor) = target.IndexOf('#') is var hash and >= 0 ? (target[..hash], target[(hash + 1)..]) : (target, null);
                var resolved = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, file));
                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    broken.Add($"{Path.GetRelativePath(Repository.Root, page)}: {target} (no such file)");
                }
                else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal)
                    && !Headings().Matches(File.ReadAllText(resolved)).Select(heading => Slug(heading.Groups["title"].Value)).Contains(anchor))
                {
                    broken.Add($"{Path.GetRelativePath(Repository.Root, page)}: {target} (no such heading)");
                }
            }
        }

        Assert.True(checkedLinks > 50, $"only {checkedLinks} links were found");
        Assert.Empty(broken);
    }

    /// <summary>
    /// A tutorial chapter's "what changes" diff block stays true to the stages: each removed line is in the previous
    /// chapter's file, each added line in this chapter's, and each line kept in both.
    /// </summary>
    [Fact]
    public void EveryWhatChangesDiffMatchesTheStages()
    {
        var tutorial = Path.Combine(Repository.Root, "docs", "tutorial");
        var chapters = Directory.GetFiles(tutorial, "0*.md").Order(StringComparer.Ordinal).ToArray();
        var diffs = 0;
        for (var i = 1; i < chapters.Length; i++)
        {
            var stage = Path.Combine(tutorial, "stages", Path.GetFileNameWithoutExtension(chapters[i]));
            var previous = Path.Combine(tutorial, "stages", Path.GetFileNameWithoutExtension(chapters[i - 1]));
            foreach (Match block in WhatChanges().Matches(File.ReadAllText(chapters[i])))
            {
                diffs++;
                var file = block.Groups["file"].Value;
                var before = File.ReadAllLines(Path.Combine(previous, file)).ToHashSet();
                var after = File.ReadAllLines(Path.Combine(stage, file)).ToHashSet();
                foreach (var line in block.Groups["diff"].Value.Split('\n').Where(line => line.Length > 0 && !line.StartsWith("---", StringComparison.Ordinal)
                    && !line.StartsWith("+++", StringComparison.Ordinal) && !line.StartsWith("@@", StringComparison.Ordinal)))
                {
                    var (mark, text) = (line[0], line[1..]);
                    Assert.True(mark switch { '-' => before.Contains(text), '+' => after.Contains(text), _ => before.Contains(text) && after.Contains(text) },
                        $"{Path.GetFileName(chapters[i])}: the diff of {file} shows '{line}', which the stages do not have");
                }
            }
        }

        Assert.True(diffs >= 5, $"only {diffs} diff blocks were found");
    }

    /// <summary>GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static string Slug(string title) =>
        string.Concat(title.Trim().ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_')).Replace(' ', '-');

    private static string Dedent(IEnumerable<string> lines)
    {
        var list = lines.Select(line => line.TrimEnd()).ToList();
        var indent = list.Where(line => line.Length > 0).Select(line => line.Length - line.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', list.Select(line => line.Length >= indent ? line[indent..] : line));
    }

    /// <summary>Replaces what differs from run to run: ids, ETags, temporary file names.</summary>
    private static string Normalise(string text)
    {
        text = Uuid().Replace(text, "<id>");
        text = ETag().Replace(text, "<etag>");
        text = DeleteToken().Replace(text, "\"delete_token\": \"<token>\"");
        return TemporaryFile().Replace(text, "<file>");
    }

    [GeneratedRegex(@"<!-- snippet: (?<source>[^ ]+) -->\s*```[a-z]*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SnippetBlock();

    [GeneratedRegex(@"<!-- run -->\s*```console\n(?<session>.*?)```", RegexOptions.Singleline)]
    private static partial Regex RunBlock();

    [GeneratedRegex(@"<!-- session: examples/curl.sh -->\s*```console\n(?<output>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SessionBlock();

    [GeneratedRegex("\"delete_token\": ?\"(?<token>[A-Za-z0-9_-]+)\"")]
    private static partial Regex DeleteToken();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"What changes in `(?<file>[^`]+)` since chapter \d+[^\n]*\n\n```diff\n(?<diff>.*?)```", RegexOptions.Singleline)]
    private static partial Regex WhatChanges();

    [GeneratedRegex(@"^#+ (?<title>.+)$", RegexOptions.Multiline)]
    private static partial Regex Headings();

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Uuid();

    [GeneratedRegex("\"[0-9a-f]{24}-[^\"]+\"")]
    private static partial Regex ETag();

    [GeneratedRegex(@"/tmp/\S+\.svg")]
    private static partial Regex TemporaryFile();
}
