using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// A list computed before an upload, and finished after the upload invalidated the cache, must not be
/// cached: otherwise the new image would be missing from the list for an hour.
/// </summary>
public abstract class CacheRaceTests(ICacheBackend cache)
{
    [Fact]
    public async Task ListComputedBeforeAnUploadIsNotCachedAfterIt()
    {
        using var temporary = new TemporaryFolder("asgilook-race-");
        var storage = temporary.Path;
        var gate = new ListGate();
        await using var app = await TestApp.StartAsync(
            cache,
            storagePath: storage,
            services: services => services.AddSingleton<IImageCatalog>(
                new GatedCatalog(new SqliteImageCatalog(Path.Combine(storage, SqliteImageCatalog.FileName)), gate)));

        gate.Close();
        var slowList = app.Client.GetStringAsync("/images");
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await app.Client.PostImageAsync(TestImages.RandomEllipses());
        gate.Open();
        Assert.Equal("[]", await slowList);

        using var list = await app.Client.GetAsync("/images");
        Assert.Equal("Miss", list.CacheOutcome());
        Assert.Equal(1, (await list.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength());
    }

    private sealed class ListGate
    {
        private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ListGate() => _open.SetResult();

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Passage => _open.Task;

        public void Close() => _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();
    }

    /// <summary>The real catalog, with list answers held at the gate after they were read.</summary>
    private sealed class GatedCatalog(IImageCatalog inner, ListGate gate) : IImageCatalog
    {
        public string Description => inner.Description;

        public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

        public Task SetPlaceholderAsync(Guid id, Asgilook.Imaging.Placeholder placeholder, CancellationToken cancellationToken) =>
            inner.SetPlaceholderAsync(id, placeholder, cancellationToken);

        public Task<IReadOnlyList<Guid>> WithoutPlaceholderAsync(int limit, CancellationToken cancellationToken) =>
            inner.WithoutPlaceholderAsync(limit, cancellationToken);

        public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

        public Task BlockAsync(string sha256, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken) =>
            inner.BlockAsync(sha256, imageId, at, cancellationToken);

        public Task<bool> IsBlockedAsync(string sha256, CancellationToken cancellationToken) => inner.IsBlockedAsync(sha256, cancellationToken);

        public Task<AddOutcome> AddAsync(StoredImage image, Asgilook.Quotas.Quota quota, bool bytesWritten, CancellationToken cancellationToken) =>
            inner.AddAsync(image, quota, bytesWritten, cancellationToken);

        public Task<Asgilook.Quotas.KeyUsage> UsageAsync(string ownerKeyId, CancellationToken cancellationToken) => inner.UsageAsync(ownerKeyId, cancellationToken);

        public Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public async Task<ImagePage?> ListAsync(Guid? after, int? limit, ListOrder order, CancellationToken cancellationToken)
        {
            var page = await inner.ListAsync(after, limit, order, cancellationToken);
            gate.Reached.TrySetResult();
            await gate.Passage;
            return page;
        }

        public Task<RemovedRow?> DeleteAsync(Guid id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public Task<ILookup<Guid, Guid>> ImagesByBlobAsync(CancellationToken cancellationToken) => inner.ImagesByBlobAsync(cancellationToken);

        public Task<IReadOnlyList<Guid>> ImagesWithContentAsync(string sha256, CancellationToken cancellationToken) => inner.ImagesWithContentAsync(sha256, cancellationToken);

        public Task<string?> GetStorageIdAsync(CancellationToken cancellationToken) => inner.GetStorageIdAsync(cancellationToken);

        public Task<string> ClaimStorageIdAsync(string storageId, CancellationToken cancellationToken) => inner.ClaimStorageIdAsync(storageId, cancellationToken);
    }
}

public sealed class CacheRaceWithMemoryCache() : CacheRaceTests(new MemoryCacheBackend());

[Trait(Needs.Trait, Needs.Redis)]
public sealed class CacheRaceWithRedis(RedisCacheBackend redis) : CacheRaceTests(redis), IClassFixture<RedisCacheBackend>;
