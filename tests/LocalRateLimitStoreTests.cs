using Asgilook.RateLimiting;

namespace Asgilook.Tests;

/// <summary>The token buckets one instance keeps when no Redis shares them, clock in hand.</summary>
public sealed class LocalRateLimitStoreTests
{
    [Fact]
    public async Task ALocalBucketRefillsOverTimeAndIsForgottenOnceFull()
    {
        var clock = new ManualClock();
        var store = new LocalRateLimitStore(clock);
        var policy = new RateLimitPolicy("uploads", 60); // one token a second

        for (var i = 0; i < 60; i++)
        {
            Assert.True((await store.TakeAsync("ip:a", policy)).Allowed);
        }

        var refused = await store.TakeAsync("ip:a", policy);
        Assert.False(refused.Allowed);
        Assert.Equal((1, 0, 60), (refused.RetryAfterSeconds, refused.Remaining, refused.SecondsUntilFull));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await store.TakeAsync("ip:a", policy)).Allowed);
        Assert.True((await store.TakeAsync("ip:b", policy)).Allowed);
        Assert.Equal(2, store.Count);

        clock.Advance(TimeSpan.FromMinutes(2)); // both full again: nothing left to remember
        Assert.True((await store.TakeAsync("ip:c", policy)).Allowed);
        Assert.Equal(1, store.Count);
    }
}
