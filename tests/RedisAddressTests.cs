using System.Net;
using Asgilook.Caching;
using Asgilook.Redis;

namespace Asgilook.Tests;

public sealed class RedisAddressTests
{
    [Theory]
    [InlineData("redis://localhost:6379/0", "localhost", 6379, 0)]
    [InlineData("redis://localhost", "localhost", 6379, null)]
    [InlineData("redis://cache.internal:6380/5", "cache.internal", 6380, 5)]
    [InlineData("localhost:6381", "localhost", 6381, null)]
    [InlineData("localhost:6381,defaultDatabase=2", "localhost", 6381, 2)]
    public void EndpointAndDatabase(string address, string host, int port, int? database)
    {
        Assert.True(RedisAddress.TryParse(address, out var options, out var error), error);

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints));
        Assert.Equal((host, port), (endpoint.Host, endpoint.Port));
        Assert.Equal(database, options.DefaultDatabase);
        Assert.False(options.Ssl);
    }

    [Fact]
    public void CredentialsAndTls()
    {
        Assert.True(RedisAddress.TryParse("rediss://app:s%40cret@redis.example:6390/1", out var full, out _));
        Assert.True(full.Ssl);
        Assert.Equal("app", full.User);
        Assert.Equal("s@cret", full.Password);

        Assert.True(RedisAddress.TryParse("redis://:only-password@localhost", out var passwordOnly, out _));
        Assert.Null(passwordOnly.User);
        Assert.Equal("only-password", passwordOnly.Password);

        Assert.True(RedisAddress.TryParse("redis://lone-secret@localhost", out var lone, out _));
        Assert.Equal("lone-secret", lone.Password);
    }

    [Theory]
    [InlineData("http://localhost:6379", "redis://")]
    [InlineData("redis://localhost/db", "database number")]
    [InlineData("redis://localhost/-1", "database number")]
    [InlineData("redis:///0", "no host")]
    [InlineData("redis://", "")]
    [InlineData(",", "no host")]
    public void UnusableAddressesSayWhy(string address, string reason)
    {
        Assert.False(RedisAddress.TryParse(address, out var options, out var error));
        Assert.Null(options);
        Assert.Contains(reason, error);
    }
}
