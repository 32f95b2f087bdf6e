using Asgilook.Storage;

namespace Asgilook.Tests;

/// <summary>What every image catalog promises, checked on SQLite and on a real PostgreSQL.</summary>
public abstract class CatalogContractTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    protected abstract Task<IImageCatalog> NewCatalogAsync();

    [Fact]
    public async Task AddedImagesAreReadBackAsStored()
    {
        var catalog = await NewCatalogAsync();
        var image = Image(0);

        await catalog.AddAsync(image, CancellationToken.None);

        Assert.Equal(image, await catalog.GetAsync(image.Id, CancellationToken.None));
        Assert.Null(await catalog.GetAsync(Guid.NewGuid(), CancellationToken.None));
        Assert.Equal([image.Id], await catalog.AllIdsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ListIsInUploadOrderAndPagesFollowTheCursor()
    {
        var catalog = await NewCatalogAsync();
        var images = Enumerable.Range(0, 5).Select(Image).ToArray();
        foreach (var image in images.Reverse())
        {
            await catalog.AddAsync(image, CancellationToken.None);
        }

        var all = await catalog.ListAsync(null, null, CancellationToken.None);
        var first = await catalog.ListAsync(null, 2, CancellationToken.None);
        var second = await catalog.ListAsync(first!.Images[^1].Id, 2, CancellationToken.None);
        var last = await catalog.ListAsync(second!.Images[^1].Id, 2, CancellationToken.None);

        Assert.Equal(images, all!.Images);
        Assert.False(all.HasMore);
        Assert.Equal(images[..2], first.Images);
        Assert.Equal(images[2..4], second.Images);
        Assert.Equal(images[4..], last!.Images);
        Assert.Equal((true, true, false), (first.HasMore, second.HasMore, last.HasMore));
        Assert.Null(await catalog.ListAsync(Guid.NewGuid(), 2, CancellationToken.None));
    }

    [Fact]
    public async Task SameUploadTimeKeepsInsertionOrder()
    {
        var catalog = await NewCatalogAsync();
        var images = Enumerable.Range(0, 3).Select(i => Image(0) with { Id = Guid.NewGuid() }).ToArray();
        foreach (var image in images)
        {
            await catalog.AddAsync(image, CancellationToken.None);
        }

        Assert.Equal(images, (await catalog.ListAsync(null, null, CancellationToken.None))!.Images);
        Assert.Equal(images[1..], (await catalog.ListAsync(images[0].Id, 10, CancellationToken.None))!.Images);
    }

    [Fact]
    public async Task DeleteRemovesOnceAndAnIdIsStoredOnce()
    {
        var catalog = await NewCatalogAsync();
        var image = Image(0);
        await catalog.AddAsync(image, CancellationToken.None);

        await Assert.ThrowsAnyAsync<Exception>(() => catalog.AddAsync(image, CancellationToken.None));
        Assert.True(await catalog.DeleteAsync(image.Id, CancellationToken.None));
        Assert.False(await catalog.DeleteAsync(image.Id, CancellationToken.None));
        Assert.Empty(await catalog.AllIdsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentAddsAreAllKept()
    {
        var catalog = await NewCatalogAsync();
        var images = Enumerable.Range(0, 40).Select(Image).ToArray();

        await Task.WhenAll(images.Select(image => catalog.AddAsync(image, CancellationToken.None)));

        Assert.Equal(images, (await catalog.ListAsync(null, null, CancellationToken.None))!.Images);
    }

    private static StoredImage Image(int n) =>
        new(Guid.NewGuid(), 640 + n, 360, Start.AddSeconds(n), 1000 + n, new string((char)('a' + n % 6), 64));
}

public sealed class SqliteCatalogContract : CatalogContractTests, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("asgilook-catalog-").FullName;
    private int _databases;

    protected override async Task<IImageCatalog> NewCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(Path.Combine(_folder, $"catalog-{Interlocked.Increment(ref _databases)}.db"));
        await catalog.MigrateAsync(CancellationToken.None);
        return catalog;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}

public sealed class PostgresCatalogContract(PostgresServer postgres) : CatalogContractTests, IClassFixture<PostgresServer>, IAsyncDisposable
{
    private readonly List<PostgresImageCatalog> _catalogs = [];

    protected override async Task<IImageCatalog> NewCatalogAsync()
    {
        var database = await postgres.NewDatabaseAsync();
        var catalogs = Enumerable.Range(0, 3).Select(_ => new PostgresImageCatalog(database)).ToArray();
        _catalogs.AddRange(catalogs);

        // Several instances starting at once migrate the same database safely.
        await Task.WhenAll(catalogs.Select(catalog => catalog.MigrateAsync(CancellationToken.None)));
        return catalogs[0];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var catalog in _catalogs)
        {
            await catalog.DisposeAsync();
        }
    }
}
