using Asgilook.Storage;

namespace Asgilook.Tests;

/// <summary>What every image catalog promises, checked on SQLite and on a real PostgreSQL.</summary>
public abstract class CatalogContractTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    protected abstract Task<IImageCatalog> NewCatalogAsync();

    /// <summary>
    /// A database as the first version wrote it (no ownership columns), holding one row with this id,
    /// and catalogs on it that were migrated by several instances at once.
    /// </summary>
    protected abstract Task<IImageCatalog[]> MigratedOldDatabaseAsync(Guid oldRow, int instances);

    [Fact]
    public async Task AddedImagesAreReadBackAsStored()
    {
        var catalog = await NewCatalogAsync();
        var image = Image(0);

        await catalog.AddAsync(image, CancellationToken.None);

        Assert.Equal(image, await catalog.GetAsync(image.Id, CancellationToken.None));
        Assert.Null(await catalog.GetAsync(Guid.NewGuid(), CancellationToken.None));
        Assert.Equal([image.Id], (await catalog.ImagesByBlobAsync(CancellationToken.None))[image.Id]);
    }

    [Fact]
    public async Task BlockedContentIsToldByItsHashAndBlockingTwiceKeepsOneRow()
    {
        var catalog = await NewCatalogAsync();
        var (blocked, other) = (new string('a', 64), new string('b', 64));

        Assert.False(await catalog.IsBlockedAsync(blocked, CancellationToken.None));
        await catalog.BlockAsync(blocked, Guid.NewGuid(), Start, CancellationToken.None);
        await catalog.BlockAsync(blocked, Guid.NewGuid(), Start.AddHours(1), CancellationToken.None);

        Assert.True(await catalog.IsBlockedAsync(blocked, CancellationToken.None));
        Assert.False(await catalog.IsBlockedAsync(other, CancellationToken.None));
        Assert.False(await catalog.IsBlockedAsync("' OR 1=1 --", CancellationToken.None)); // a parameter, never SQL
    }

    [Fact]
    public async Task OwnershipIsReadBackAsStored()
    {
        var catalog = await NewCatalogAsync();
        var owned = Image(1) with { DeleteTokenHash = new string('d', 64), OwnerKeyId = new string('e', 64) };
        var tokenOnly = Image(2) with { DeleteTokenHash = new string('f', 64) };

        await catalog.AddAsync(owned, CancellationToken.None);
        await catalog.AddAsync(tokenOnly, CancellationToken.None);

        Assert.Equal(owned, await catalog.GetAsync(owned.Id, CancellationToken.None));
        Assert.Equal(tokenOnly, await catalog.GetAsync(tokenOnly.Id, CancellationToken.None));
    }

    [Fact]
    public async Task APlaceholderIsReadBackAndOneMissingIsFilledOnce()
    {
        var catalog = await NewCatalogAsync();
        var first = new Asgilook.Imaging.Placeholder("data:image/webp;base64,AAAA", "#102030");
        var with = Image(4) with { Placeholder = first };
        var without = Image(5);
        await catalog.AddAsync(with, CancellationToken.None);
        await catalog.AddAsync(without, CancellationToken.None);

        Assert.Equal(with, await catalog.GetAsync(with.Id, CancellationToken.None));
        Assert.Equal([without.Id], await catalog.WithoutPlaceholderAsync(10, CancellationToken.None));
        await catalog.SetPlaceholderAsync(without.Id, first, CancellationToken.None);
        await catalog.SetPlaceholderAsync(without.Id, first with { Colour = "#ffffff" }, CancellationToken.None); // a second instance, later

        Assert.Equal(first, (await catalog.GetAsync(without.Id, CancellationToken.None))!.Placeholder);
        Assert.Empty(await catalog.WithoutPlaceholderAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task DatabaseOfTheFirstVersionIsMigratedOnceAndKeepsItsRows()
    {
        var old = Guid.NewGuid();
        var catalogs = await MigratedOldDatabaseAsync(old, instances: 3);
        var catalog = catalogs[0];

        var kept = await catalog.GetAsync(old, CancellationToken.None);
        Assert.NotNull(kept);
        Assert.Equal((640, 360, (string?)null, (string?)null), (kept.Width, kept.Height, kept.DeleteTokenHash, kept.OwnerKeyId));
        Assert.Null(kept.Placeholder);
        Assert.Equal([old], await catalog.WithoutPlaceholderAsync(10, CancellationToken.None));
        await catalog.MigrateAsync(CancellationToken.None);
        var added = Image(3) with { DeleteTokenHash = new string('a', 64) };
        await catalogs[^1].AddAsync(added, CancellationToken.None);
        Assert.Equal([old, added.Id], (await catalog.ListAsync(null, null, ListOrder.OldestFirst, CancellationToken.None))!.Images.Select(image => image.Id));
        Assert.Equal(added, await catalog.GetAsync(added.Id, CancellationToken.None));
    }

    /// <summary>The first version's schema and one row of it, in SQL both databases read.</summary>
    protected static string FirstVersion(string idType, string seqType, Guid row) =>
        $"CREATE TABLE images (seq {seqType}, id {idType} NOT NULL UNIQUE, width INTEGER NOT NULL, height INTEGER NOT NULL, " +
        "uploaded_at BIGINT NOT NULL, byte_length BIGINT NOT NULL, sha256 TEXT NOT NULL); " +
        "INSERT INTO images (id, width, height, uploaded_at, byte_length, sha256) " +
        $"VALUES ('{row}', 640, 360, {Start.ToUnixTimeMilliseconds()}, 1000, '{new string('c', 64)}');";

    [Fact]
    public async Task NewestFirstPagesFollowTheCursorBackwards()
    {
        var catalog = await NewCatalogAsync();
        var images = Enumerable.Range(0, 5).Select(Image).ToArray();
        foreach (var image in images)
        {
            await catalog.AddAsync(image, CancellationToken.None);
        }

        var first = await catalog.ListAsync(null, 2, ListOrder.NewestFirst, CancellationToken.None);
        var second = await catalog.ListAsync(first!.Images[^1].Id, 2, ListOrder.NewestFirst, CancellationToken.None);
        var last = await catalog.ListAsync(second!.Images[^1].Id, 2, ListOrder.NewestFirst, CancellationToken.None);

        Assert.Equal(images.Reverse().Select(image => image.Id), first.Images.Concat(second.Images).Concat(last!.Images).Select(image => image.Id));
        Assert.Equal((true, true, false), (first.HasMore, second.HasMore, last.HasMore));
        Assert.Equal(images.Reverse(), (await catalog.ListAsync(null, null, ListOrder.NewestFirst, CancellationToken.None))!.Images);
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

        var all = await catalog.ListAsync(null, null, ListOrder.OldestFirst, CancellationToken.None);
        var first = await catalog.ListAsync(null, 2, ListOrder.OldestFirst, CancellationToken.None);
        var second = await catalog.ListAsync(first!.Images[^1].Id, 2, ListOrder.OldestFirst, CancellationToken.None);
        var last = await catalog.ListAsync(second!.Images[^1].Id, 2, ListOrder.OldestFirst, CancellationToken.None);

        Assert.Equal(images, all!.Images);
        Assert.False(all.HasMore);
        Assert.Equal(images[..2], first.Images);
        Assert.Equal(images[2..4], second.Images);
        Assert.Equal(images[4..], last!.Images);
        Assert.Equal((true, true, false), (first.HasMore, second.HasMore, last.HasMore));
        Assert.Null(await catalog.ListAsync(Guid.NewGuid(), 2, ListOrder.OldestFirst, CancellationToken.None));
    }

    [Fact]
    public async Task SameUploadTimeKeepsInsertionOrder()
    {
        var catalog = await NewCatalogAsync();
        var images = Enumerable.Range(0, 3).Select(i => Image(0) with { Id = Guid.NewGuid(), Sha256 = Image(i).Sha256 }).ToArray();
        foreach (var image in images)
        {
            await catalog.AddAsync(image, CancellationToken.None);
        }

        Assert.Equal(images, (await catalog.ListAsync(null, null, ListOrder.OldestFirst, CancellationToken.None))!.Images);
        Assert.Equal(images[1..], (await catalog.ListAsync(images[0].Id, 10, ListOrder.OldestFirst, CancellationToken.None))!.Images);
    }

    [Fact]
    public async Task DeleteRemovesOnceAndAnIdIsStoredOnce()
    {
        var catalog = await NewCatalogAsync();
        var image = Image(0);
        await catalog.AddAsync(image, CancellationToken.None);

        await Assert.ThrowsAnyAsync<Exception>(() => catalog.AddAsync(image, CancellationToken.None));
        Assert.Equal(new RemovedRow(image.Id, BlobUnused: true), await catalog.DeleteAsync(image.Id, CancellationToken.None));
        Assert.Null(await catalog.DeleteAsync(image.Id, CancellationToken.None));
        Assert.Empty(await catalog.ImagesByBlobAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentAddsAreAllKept()
    {
        var catalog = await NewCatalogAsync();
        var images = Enumerable.Range(0, 40).Select(Image).ToArray();

        await Task.WhenAll(images.Select(image => catalog.AddAsync(image, CancellationToken.None)));

        Assert.Equal(images, (await catalog.ListAsync(null, null, ListOrder.OldestFirst, CancellationToken.None))!.Images);
    }

    [Fact]
    public async Task AQuotaHoldsExactlyForConcurrentAddsThroughSeveralInstancesAndCountsOnlyItsKey()
    {
        var instances = await MigratedOldDatabaseAsync(Guid.NewGuid(), 3);
        var (owner, other) = (new string('1', 64), new string('2', 64));
        var images = Enumerable.Range(0, 30).Select(n => Image(n) with { OwnerKeyId = owner, ByteLength = 1000 }).ToArray();
        var quota = new Asgilook.Quotas.Quota(Images: 7, Bytes: 0);

        var outcomes = await Task.WhenAll(images.Select((image, n) => instances[n % instances.Length].AddAsync(image, quota, bytesWritten: true, CancellationToken.None)));

        Assert.Equal(7, outcomes.Count(outcome => outcome.Result == AddResult.Added));
        Assert.All(outcomes.Where(outcome => outcome.Result != AddResult.Added), outcome => Assert.Equal(7, outcome.Usage!.Images));
        Assert.Equal(new Asgilook.Quotas.KeyUsage(7, 7000), await instances[0].UsageAsync(owner, CancellationToken.None));
        Assert.Equal(new Asgilook.Quotas.KeyUsage(0, 0), await instances[1].UsageAsync(other, CancellationToken.None));

        // Bytes: 2500 fit two more images of 1000 bytes beside the 7000 the key has, not a third; another key is not counted.
        var byBytes = new Asgilook.Quotas.Quota(Images: 0, Bytes: 9500);
        var more = Enumerable.Range(30, 6).Select(n => Image(n) with { OwnerKeyId = owner, ByteLength = 1000 }).ToArray();
        var added = await Task.WhenAll(more.Select((image, n) => instances[n % instances.Length].AddAsync(image, byBytes, bytesWritten: true, CancellationToken.None)));
        Assert.Equal(2, added.Count(outcome => outcome.Result == AddResult.Added));
        Assert.Equal(AddResult.Added, (await instances[2].AddAsync(Image(40) with { OwnerKeyId = other, ByteLength = 9000 }, byBytes, bytesWritten: true, CancellationToken.None)).Result);

        // Deleting frees quota at once.
        Assert.NotNull(await instances[0].DeleteAsync(images.First(image => outcomes[Array.IndexOf(images, image)].Result == AddResult.Added).Id, CancellationToken.None));
        Assert.Equal(AddResult.Added, (await instances[1].AddAsync(Image(41) with { OwnerKeyId = owner, ByteLength = 500 }, byBytes, bytesWritten: true, CancellationToken.None)).Result);
    }

    [Fact]
    public async Task UploadsOfOneContentShareTheFirstOnesBytesThroughEveryInstanceUntilTheLastGoes()
    {
        var instances = await MigratedOldDatabaseAsync(Guid.NewGuid(), 3);
        var content = Image(50).Sha256;
        Assert.Equal(AddResult.NeedsBytes, (await instances[0].AddAsync(Image(50), Asgilook.Quotas.Quota.None, bytesWritten: false, CancellationToken.None)).Result);

        // Twelve uploads of one content at once, each having written its own bytes: one keeps them, the others name them.
        var uploads = Enumerable.Range(0, 12).Select(n => Image(60 + n) with { Sha256 = content }).ToArray();
        var added = await Task.WhenAll(uploads.Select((image, n) =>
            instances[n % instances.Length].AddAsync(image, Asgilook.Quotas.Quota.None, bytesWritten: true, CancellationToken.None)));
        var blob = Assert.Single(added.Select(outcome => outcome.Blob).Distinct());
        Assert.Contains(blob, uploads.Select(image => image.Id));
        Assert.Equal(uploads.Select(image => image.Id).Order(), (await instances[1].ImagesByBlobAsync(CancellationToken.None))[blob].Order());
        Assert.Equal(blob, (await instances[2].GetAsync(uploads[^1].Id, CancellationToken.None))!.Blob);
        Assert.Equal(uploads.Select(image => image.Id).Order(), (await instances[0].ImagesWithContentAsync(content, CancellationToken.None)).Order());
        Assert.Empty(await instances[0].ImagesWithContentAsync(Image(99).Sha256, CancellationToken.None));

        // One more, before any bytes are written: it is told the bytes it may use.
        var later = Image(80) with { Sha256 = content };
        Assert.Equal(new AddOutcome(AddResult.Added, blob), await instances[0].AddAsync(later, Asgilook.Quotas.Quota.None, bytesWritten: false, CancellationToken.None));

        // The bytes stay until the last image using them is deleted, whichever the order.
        var all = uploads.Append(later).Select(image => image.Id).OrderBy(id => id == blob ? 0 : 1).ToArray();
        for (var n = 0; n < all.Length; n++)
        {
            Assert.Equal(new RemovedRow(blob, BlobUnused: n == all.Length - 1), await instances[n % instances.Length].DeleteAsync(all[n], CancellationToken.None));
        }
    }

    [Fact]
    public async Task AnUploadRacingTheDeleteOfTheLastCopyEitherSharesItsBytesOrIsToldToWriteItsOwn()
    {
        var instances = await MigratedOldDatabaseAsync(Guid.NewGuid(), 2);
        for (var round = 0; round < 20; round++)
        {
            var first = Image(100 + round);
            await instances[0].AddAsync(first, CancellationToken.None);
            var twin = Image(200 + round) with { Sha256 = first.Sha256 };

            var removing = Task.Run(() => instances[0].DeleteAsync(first.Id, CancellationToken.None));
            var adding = Task.Run(() => instances[1].AddAsync(twin, Asgilook.Quotas.Quota.None, bytesWritten: false, CancellationToken.None));
            var (removed, added) = (await removing, await adding);

            // Never a listed image naming bytes its delete let go: shared and kept, or not listed and to be written.
            Assert.Equal(added.Result == AddResult.Added, !removed!.BlobUnused);
            Assert.Equal(added.Result == AddResult.Added, await instances[0].GetAsync(twin.Id, CancellationToken.None) is not null);
            await instances[1].DeleteAsync(twin.Id, CancellationToken.None);
        }
    }

    private static StoredImage Image(int n) =>
        new(Guid.NewGuid(), 640 + n, 360, Start.AddSeconds(n), 1000 + n, n.ToString("x64", System.Globalization.CultureInfo.InvariantCulture));
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

    protected override async Task<IImageCatalog[]> MigratedOldDatabaseAsync(Guid oldRow, int instances)
    {
        var path = Path.Combine(_folder, $"old-{Interlocked.Increment(ref _databases)}.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = FirstVersion("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT", oldRow);
            await command.ExecuteNonQueryAsync();
        }

        var catalogs = Enumerable.Range(0, instances).Select(_ => new SqliteImageCatalog(path)).ToArray();
        await Task.WhenAll(catalogs.Select(catalog => Task.Run(() => catalog.MigrateAsync(CancellationToken.None))));
        return catalogs;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}

[Trait(Needs.Trait, Needs.PostgreSQL)]
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

    protected override async Task<IImageCatalog[]> MigratedOldDatabaseAsync(Guid oldRow, int instances)
    {
        var database = await postgres.NewDatabaseAsync();
        await using (var connection = new Npgsql.NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(FirstVersion("UUID", "BIGSERIAL PRIMARY KEY", oldRow), connection);
            await command.ExecuteNonQueryAsync();
        }

        var catalogs = Enumerable.Range(0, instances).Select(_ => new PostgresImageCatalog(database)).ToArray();
        _catalogs.AddRange(catalogs);
        await Task.WhenAll(catalogs.Select(catalog => catalog.MigrateAsync(CancellationToken.None)));
        return catalogs;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var catalog in _catalogs)
        {
            await catalog.DisposeAsync();
        }
    }
}
