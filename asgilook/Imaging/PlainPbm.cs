namespace Asgilook.Imaging;

/// <summary>
/// A plain-text PBM (P1) may write its pixels as digits with no space between them
/// (<c>0110</c>), as netpbm's own tools do; ImageSharp 2.1 reads only space-separated values and
/// would take a row for one large number. The pixels are rewritten one digit, one space.
/// </summary>
public static class PlainPbm
{
    public static byte[] Spaced(byte[] pbm)
    {
        var output = new List<byte>(pbm.Length * 2);
        var at = 0;
        // The header: the magic number and two numbers, with whitespace and comments between.
        for (var tokens = 0; tokens < 3 && at < pbm.Length; tokens++)
        {
            at = SkipSpace(pbm, at, output);
            while (at < pbm.Length && !IsSpace(pbm[at]) && pbm[at] != '#')
            {
                output.Add(pbm[at++]);
            }
        }

        output.Add((byte)'\n');
        for (; at < pbm.Length; at++)
        {
            if (pbm[at] == '#')
            {
                at = SkipSpace(pbm, at, null) - 1;
            }
            else if (!IsSpace(pbm[at]))
            {
                output.Add(pbm[at]);
                output.Add((byte)' ');
            }
        }

        return [.. output];
    }

    private static int SkipSpace(byte[] pbm, int at, List<byte>? output)
    {
        while (at < pbm.Length && (IsSpace(pbm[at]) || pbm[at] == '#'))
        {
            if (pbm[at] == '#')
            {
                while (at < pbm.Length && pbm[at] != '\n')
                {
                    at++;
                }
            }
            else
            {
                at++;
            }
        }

        if (output is { Count: > 0 })
        {
            output.Add((byte)' ');
        }

        return at;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}
