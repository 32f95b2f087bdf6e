using Asgilook.Caching;
using Asgilook.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace Asgilook.Tests;

/// <summary>What every cache store promises, checked on the memory store and on a real Redis.</summary>
public abstract class CacheStoreContractTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    protected abstract Task<ICacheStore> StoreAsync();

    [Fact]
    public async Task StoredValueIsReadBack()
    {
        var store = await StoreAsync();
        var read = await store.GetAsync("asgilook:/a");
        Assert.Null(read.Value);

        Assert.True(await store.SetAsync("asgilook:/a", [1, 2, 3], Hour, read.Generation));

        Assert.Equal([1, 2, 3], (await store.GetAsync("asgilook:/a")).Value);
    }

    [Fact]
    public async Task InvalidationDeletesAndBumpsTheGeneration()
    {
        var store = await StoreAsync();
        await store.SetAsync("asgilook:/b", [1], Hour, 0);

        await store.InvalidateAsync("asgilook:/b");
        await store.InvalidateAsync("asgilook:/b");

        Assert.Equal(new CacheRead(null, 2), await store.GetAsync("asgilook:/b"));
        Assert.Equal(0, (await store.GetAsync("asgilook:/other")).Generation);
    }

    [Fact]
    public async Task AnswerComputedBeforeAnInvalidationIsNotStoredAfterIt()
    {
        var store = await StoreAsync();
        var before = await store.GetAsync("asgilook:/images");

        await store.InvalidateAsync("asgilook:/images");
        var stored = await store.SetAsync("asgilook:/images", [9, 9], Hour, before.Generation);

        Assert.False(stored);
        var after = await store.GetAsync("asgilook:/images");
        Assert.Null(after.Value);
        Assert.True(await store.SetAsync("asgilook:/images", [1], Hour, after.Generation));
    }

    [Fact]
    public async Task EntriesOfAQueryGoStaleWithTheirTag()
    {
        var store = await StoreAsync();
        var page = new CacheKey("asgilook:/images?limit=2", "asgilook:/images");
        var other = new CacheKey("asgilook:/images?limit=3", "asgilook:/images");
        var read = await store.GetAsync(page);
        Assert.True(await store.SetAsync(page, [1], Hour, read.Generation));
        Assert.True(await store.SetAsync(other, [2], Hour, read.Generation));
        Assert.Equal([1], (await store.GetAsync(page)).Value);

        await store.InvalidateAsync("asgilook:/images");

        var stale = await store.GetAsync(page);
        Assert.Null(stale.Value);
        Assert.Null((await store.GetAsync(other)).Value);
        Assert.False(await store.SetAsync(page, [9], Hour, read.Generation)); // produced before the invalidation
        Assert.True(await store.SetAsync(page, [3], Hour, stale.Generation));
        Assert.Equal([3], (await store.GetAsync(page)).Value);
    }

    [Fact]
    public async Task ConcurrentInvalidationsAreAllCounted()
    {
        var store = await StoreAsync();

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => store.InvalidateAsync("asgilook:/c")));

        Assert.Equal(50, (await store.GetAsync("asgilook:/c")).Generation);
    }

    [Fact]
    public async Task FillLockIsHeldByOneUntilReleased()
    {
        var store = await StoreAsync();

        var first = await store.TryLockAsync("asgilook:/t", Hour);
        var second = await store.TryLockAsync("asgilook:/t", Hour);
        var otherKey = await store.TryLockAsync("asgilook:/u", Hour);

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.NotNull(otherKey);
        await first.DisposeAsync();
        var afterRelease = await store.TryLockAsync("asgilook:/t", Hour);
        Assert.NotNull(afterRelease);
    }

    [Fact]
    public async Task ConcurrentLockAttemptsHaveOneWinner()
    {
        var store = await StoreAsync();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => store.TryLockAsync("asgilook:/race", Hour))));

        Assert.Single(attempts, taken => taken is not null);
    }

    [Fact]
    public async Task ARenewedFillLockOutlivesItsExpiryAndALostOneCannotBeRenewed()
    {
        var store = await StoreAsync();
        var holder = await store.TryLockAsync("asgilook:/renewed", TimeSpan.FromMilliseconds(300));
        Assert.NotNull(holder);
        Assert.True(await holder.RenewAsync(Hour)); // before the expiry: kept for another hour

        IHeldLock? stolen = null;
        using var patience = new CancellationTokenSource(TimeSpan.FromMilliseconds(600));
        while (!patience.IsCancellationRequested && stolen is null)
        {
            stolen = await store.TryLockAsync("asgilook:/renewed", Hour);
            await Task.Delay(20, CancellationToken.None); // a window in which it must stay held, tried every 20 ms
        }

        Assert.Null(stolen); // well past the first expiry, still held

        var brief = await store.TryLockAsync("asgilook:/brief", TimeSpan.FromMilliseconds(100));
        Assert.NotNull(brief);
        IHeldLock? successor = null;
        await Loopback.WaitUntilAsync(async () => (successor = await store.TryLockAsync("asgilook:/brief", Hour)) is not null, "the brief lock never expired", timeoutSeconds: 5);
        Assert.False(await brief.RenewAsync(Hour)); // expired and taken: the late holder cannot take it back
        Assert.Null(await store.TryLockAsync("asgilook:/brief", Hour));
        await holder.DisposeAsync();
        Assert.NotNull(await store.TryLockAsync("asgilook:/renewed", Hour));
    }

    [Fact]
    public async Task FillLockExpiresSoADeadHolderBlocksNoOne()
    {
        var store = await StoreAsync();
        var abandoned = await store.TryLockAsync("asgilook:/v", TimeSpan.FromMilliseconds(200));
        Assert.NotNull(abandoned);
        Assert.Null(await store.TryLockAsync("asgilook:/v", Hour));

        IHeldLock? next = null;
        await Loopback.WaitUntilAsync(async () => (next = await store.TryLockAsync("asgilook:/v", Hour)) is not null, "the abandoned lock never expired", timeoutSeconds: 5);
        // The late holder's release must not free the lock its successor now holds.
        await abandoned.DisposeAsync();
        Assert.NotNull(next);
        Assert.Null(await store.TryLockAsync("asgilook:/v", Hour));
    }
}

public sealed class MemoryCacheStoreContract : CacheStoreContractTests
{
    protected override Task<ICacheStore> StoreAsync() =>
        Task.FromResult<ICacheStore>(new MemoryCacheStore(1 << 20, TimeProvider.System));
}

[Trait(Needs.Trait, Needs.Redis)]
public sealed class RedisCacheStoreContract(RedisCacheBackend redis) : CacheStoreContractTests, IClassFixture<RedisCacheBackend>, IAsyncLifetime
{
    private readonly List<RedisConnection> _connections = [];

    protected override async Task<ICacheStore> StoreAsync()
    {
        Assert.True(RedisAddress.TryParse(redis.RedisHost, out var options, out _));
        var connection = new RedisConnection(options, NullLogger<RedisConnection>.Instance);
        await connection.OpenAsync();
        _connections.Add(connection);
        var store = new RedisCacheStore(connection);
        return store;
    }

    [Fact]
    public async Task GenerationKeyLivesBesideTheEntryAndExpires()
    {
        var store = await StoreAsync();

        await store.InvalidateAsync("asgilook:/thumbnails/x/1x1.jpeg");

        Assert.Equal("asgilook:generation:/thumbnails/x/1x1.jpeg", RedisKeys.GenerationOf("asgilook:/thumbnails/x/1x1.jpeg"));
        var ttl = await redis.Server.Database.KeyTimeToLiveAsync("asgilook:generation:/thumbnails/x/1x1.jpeg");
        Assert.InRange(ttl!.Value, ICacheStore.GenerationLifetime - TimeSpan.FromMinutes(1), ICacheStore.GenerationLifetime);
    }

    public Task InitializeAsync() => redis.ResetAsync();

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.CloseAsync();
            await connection.DisposeAsync();
        }
    }
}
