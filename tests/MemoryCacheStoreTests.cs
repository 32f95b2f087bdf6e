using Asgilook.Caching;

namespace Asgilook.Tests;

/// <summary>The in-process cache is a product feature: its time-to-live and budget are tested as such.</summary>
public sealed class MemoryCacheStoreTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private readonly ManualClock _clock = new();

    [Fact]
    public async Task EntriesExpireAfterTheirTimeToLive()
    {
        var store = new MemoryCacheStore(1024, _clock);
        await store.SetAsync("k", [1, 2, 3], Hour, 0);

        _clock.Advance(Hour - TimeSpan.FromSeconds(1));
        Assert.Equal([1, 2, 3], (await store.GetAsync("k")).Value);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null((await store.GetAsync("k")).Value);
        Assert.Equal(0, store.Bytes);
    }

    [Fact]
    public async Task ReplacingAndDeletingKeepTheByteCountRight()
    {
        var store = new MemoryCacheStore(1024, _clock);
        await store.SetAsync("k", new byte[100], Hour, 0);
        await store.SetAsync("k", new byte[40], Hour, 0);
        Assert.Equal(40, store.Bytes);

        await store.InvalidateAsync("k");
        await store.InvalidateAsync("never-set");
        Assert.Equal(0, store.Bytes);
        Assert.Null((await store.GetAsync("k")).Value);
    }

    [Fact]
    public async Task OldestEntriesGoWhenTheBudgetIsSpent()
    {
        var store = new MemoryCacheStore(1000, _clock);
        for (var i = 0; i < 10; i++)
        {
            await store.SetAsync($"k{i}", new byte[100], Hour, 0);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        await store.SetAsync("newest", new byte[100], Hour, 0);

        Assert.InRange(store.Bytes, 1, 750);
        Assert.Null((await store.GetAsync("k0")).Value);
        Assert.NotNull((await store.GetAsync("k9")).Value);
        Assert.NotNull((await store.GetAsync("newest")).Value);
    }

    [Fact]
    public async Task ValueLargerThanTheBudgetIsNotKept()
    {
        var store = new MemoryCacheStore(10, _clock);

        Assert.False(await store.SetAsync("k", new byte[11], Hour, 0));

        Assert.Null((await store.GetAsync("k")).Value);
        Assert.Equal(0, store.Bytes);
    }

    [Fact]
    public void DescriptionSaysWhatRuns()
    {
        var store = new MemoryCacheStore(64L * 1024 * 1024, _clock);
        Assert.Contains("in-process memory (64 MiB)", store.Description);
    }

    [Fact]
    public async Task GenerationsAreForgottenLongAfterTheirInvalidation()
    {
        var store = new MemoryCacheStore(1024, _clock);
        for (var i = 0; i < 100; i++)
        {
            await store.InvalidateAsync($"deleted-{i}");
        }

        Assert.Equal(1, (await store.GetAsync("deleted-0")).Generation);
        _clock.Advance(ICacheStore.GenerationLifetime);
        Assert.Equal(0, (await store.GetAsync("deleted-0")).Generation);

        await store.InvalidateAsync("one-more");
        Assert.Equal(1, store.RememberedGenerations);
    }

    [Fact]
    public async Task TheInProcessStoreIsAlwaysConnectedAndReadsItsGenerations()
    {
        ICacheStore store = new MemoryCacheStore(1024 * 1024, new ManualClock());
        var changed = false;
        store.OnConnectionChanged(() => changed = true);
        Assert.True(store.IsConnected);
        Assert.False(changed);
        Assert.Equal(0, await store.GetGenerationAsync("asgilook:/images"));
        await store.InvalidateAsync("asgilook:/images");
        Assert.Equal(1, await store.GetGenerationAsync("asgilook:/images"));
    }
}
