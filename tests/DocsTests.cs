using System.Text.RegularExpressions;

namespace Asgilook.Tests;

/// <summary>
/// docs/ stays true to the code: every snippet marked <c>&lt;!-- snippet: path[#name] --&gt;</c> is the
/// source (a whole file, or the lines between <c>// snippet: name</c> and <c>// end snippet</c>), and every
/// session marked <c>&lt;!-- session: examples/curl.sh --&gt;</c> shows lines that script really prints.
/// </summary>
public sealed partial class DocsTests
{
    public static TheoryData<string, string, string> Snippets()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var doc in Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md"))
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
        var doc = File.ReadAllText(Path.Combine(Repository.Root, "docs", "walkthrough.md"));
        var session = Assert.Single(SessionBlock().Matches(doc));
        var actual = Normalise(await ExampleScriptsTests.RunAgainstServerAsync("curl.sh"));

        foreach (var line in Normalise(session.Groups["output"].Value).Split('\n').Where(line => line.StartsWith("== ", StringComparison.Ordinal)))
        {
            Assert.Contains(line, actual);
        }
    }

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
        return TemporaryFile().Replace(text, "<file>");
    }

    [GeneratedRegex(@"<!-- snippet: (?<source>[^ ]+) -->\s*```[a-z]*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SnippetBlock();

    [GeneratedRegex(@"<!-- session: examples/curl.sh -->\s*```console\n(?<output>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SessionBlock();

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Uuid();

    [GeneratedRegex("\"[0-9a-f]{24}-[^\"]+\"")]
    private static partial Regex ETag();

    [GeneratedRegex(@"/tmp/\S+\.svg")]
    private static partial Regex TemporaryFile();
}
