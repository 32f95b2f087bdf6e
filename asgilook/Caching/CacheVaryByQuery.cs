namespace Asgilook.Caching;

/// <summary>
/// Endpoint metadata naming the query parameters a route's answer depends on, each with how to write it
/// canonically (so that <c>limit=050</c> and <c>limit=50</c> share an entry). The cache key holds those,
/// sorted; any other parameter is left out. A known parameter that does not parse makes the request
/// uncacheable (the route answers it 400).
/// </summary>
public sealed class CacheVaryByQuery(params (string Name, Func<string, string?> Canonical)[] parameters)
{
    /// <summary>The canonical query for the key (empty when none of the parameters is present); null when one does not parse.</summary>
    public string? KeyOf(IQueryCollection query)
    {
        var parts = new List<string>();
        foreach (var (name, canonical) in parameters.OrderBy(parameter => parameter.Name, StringComparer.Ordinal))
        {
            if (!query.TryGetValue(name, out var values))
            {
                continue;
            }

            if (values.Count != 1 || canonical(values[0] ?? string.Empty) is not { } value)
            {
                return null;
            }

            parts.Add($"{name}={value}");
        }

        return string.Join('&', parts);
    }
}
