using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Asgilook.Http;

/// <summary>
/// A JSON answer serialised whole before it is sent, so that it carries <c>Content-Length</c> (the answers built in
/// memory anyway: an upload's, the list's) instead of being chunked. <see cref="JsonOk{T}"/> and <see cref="JsonCreated{T}"/>.
/// </summary>
public abstract class JsonAnswer<T>(T value, int statusCode, string? location) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    public int? StatusCode => statusCode;

    public T Value => value;

    object? IValueHttpResult.Value => value;

    public async Task ExecuteAsync(HttpContext context)
    {
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var body = JsonSerializer.SerializeToUtf8Bytes(value, json);
        var response = context.Response;
        response.StatusCode = statusCode;
        if (location is not null)
        {
            response.Headers.Location = location;
        }

        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
    }

    protected static void Describe(EndpointBuilder builder, int status) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(T), ["application/json"]));
}

/// <summary>200 with the value as JSON, and its length.</summary>
public sealed class JsonOk<T>(T value) : JsonAnswer<T>(value, StatusCodes.Status200OK, null), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status200OK);
}

/// <summary>201 with <c>Location</c> and the value as JSON, and its length.</summary>
public sealed class JsonCreated<T>(string location, T value) : JsonAnswer<T>(value, StatusCodes.Status201Created, location), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status201Created);
}
