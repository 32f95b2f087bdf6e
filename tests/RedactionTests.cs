using System.Net.Sockets;
using Asgilook.Access;
using Asgilook.Images;
using Asgilook.Operations;
using Asgilook.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;

namespace Asgilook.Tests;

/// <summary>What may be shown of a failure, a setting or a credential.</summary>
public sealed class RedactionTests
{
    [Fact]
    public void FailuresAreDescribedByTheirKindNeverByTheirText()
    {
        var refused = new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "password=hunter2", new SocketException((int)SocketError.ConnectionRefused));

        Assert.Equal("RedisConnectionException: connection refused", Redaction.Describe(refused));
        Assert.Equal("TimeoutException: timed out", Redaction.Describe(new TimeoutException("hunter2")));
        Assert.Equal("InvalidOperationException", Redaction.Describe(new InvalidOperationException("Password=hunter2")));
        Assert.Equal("IOException: host not found", Redaction.Describe(new IOException("hunter2", new SocketException((int)SocketError.HostNotFound))));
    }

    [Theory]
    [InlineData("redis://app:hunter2@cache:6380/1", "redis://***@cache:6380/1")]
    [InlineData("rediss://hunter2@cache", "rediss://***@cache")]
    [InlineData("cache:6379,password=hunter2,ssl=true", "cache:6379,password=***,ssl=true")]
    [InlineData("cache:6379,user=app,password=hunter2", "cache:6379,user=***,password=***")]
    [InlineData("redis://cache:6379/0", "redis://cache:6379/0")]
    public void RedisAddressesAreShownWithoutTheirCredentials(string address, string shown) =>
        Assert.Equal(shown, Redaction.RedisHost(address));

    [Fact]
    public async Task AnUnexpectedFailureIsA500ProblemAndItsLogLineHoldsItsKindNotItsText()
    {
        await using var app = await TestApp.StartAsync(endpoints: app =>
            app.MapGet("/fails", string () => throw new InvalidOperationException("Password=hunter2 leaked by a library")));

        using var response = await app.Client.GetAsync("/fails");

        var problem = await response.AssertProblemAsync(System.Net.HttpStatusCode.InternalServerError);
        Assert.DoesNotContain("hunter2", await response.Content.ReadAsStringAsync());
        Assert.Contains("trace id", problem.GetProperty("detail").GetString());
        var logged = Assert.Single(app.Logs.Entries, entry => entry.Message.Contains("/fails failed", StringComparison.Ordinal));
        Assert.Contains("InvalidOperationException", logged.Message);
        Assert.DoesNotContain(app.Logs.Entries, entry => $"{entry.Message} {entry.Exception}".Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public void ADeleteTokenNeverPrintsItself()
    {
        var token = DeleteToken.New();
        var answer = new UploadedImage(new ImageResource("id", "/images/id.jpeg", "now", [1, 1], []), token.Value);

        Assert.DoesNotContain(token.Value, token.ToString());
        Assert.DoesNotContain(token.Value, answer.ToString());
        Assert.NotEqual(token.Value, DeleteToken.New().Value);
    }

    [Fact]
    public void ABoundCredentialNeverPrintsItself()
    {
        const string Credential = "hunter2-credential";
        Assert.DoesNotContain(Credential, new Bearer(Credential).ToString());
        Assert.Equal("Bearer { presented }", new Bearer(Credential).ToString());
        Assert.Equal("Bearer { none }", new Bearer(null).ToString());
        // An uploader is known by its key's hash, never by the key.
        var uploader = new Uploader(Credentials.Hash(Credential), "key:" + Credentials.Hash(Credential), Presented: true);
        Assert.DoesNotContain(Credential, uploader.ToString());
    }
}
