using System.Reflection;

namespace Asgilook.Access;

/// <summary>The credential of <c>Authorization: Bearer &lt;credential&gt;</c>, bound as a handler's parameter; null without one.</summary>
public sealed record Bearer(string? Credential)
{
    public static ValueTask<Bearer?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult<Bearer?>(new Bearer(Credentials.BearerOf(context.Request)));

    /// <summary>Never the credential, should the record be logged.</summary>
    public override string ToString() => Credential is null ? "Bearer { none }" : "Bearer { presented }";
}
