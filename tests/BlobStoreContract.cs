using Asgilook.Storage;
using Asgilook.Storage.Bucket;
using Xunit;

namespace Asgilook.Tests;

/// <summary>
/// What every blob store promises (<see cref="IBlobStore"/>), run against the storage folder and against a bucket of a
/// real S3 server: the service above them cannot tell which one it has.
/// </summary>
public abstract class BlobStoreContract : IAsyncLifetime
{
    private static readonly byte[] Jpeg = TestImages.RandomEllipses(64, 48, ".jpg");

    protected IBlobStore Store { get; private set; } = null!;

    protected abstract Task<IBlobStore> CreateAsync();

    public async Task InitializeAsync()
    {
        Store = await CreateAsync();
        await Store.PrepareAsync(CancellationToken.None);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_original_reads_back_whole_and_by_ranges()
    {
        var id = Guid.NewGuid();
        await Store.WriteAsync(id, Jpeg, animation: null, CancellationToken.None);

        Assert.Equal(Jpeg, await Store.ReadOriginalAsync(id, CancellationToken.None));
        await using var stream = await Store.OpenOriginalAsync(id, CancellationToken.None);
        Assert.NotNull(stream);
        Assert.Equal(Jpeg.Length, stream.Length);
        var middle = new byte[100];
        stream.Seek(200, SeekOrigin.Begin);
        await stream.ReadExactlyAsync(middle);
        Assert.Equal(Jpeg[200..300], middle);
        stream.Seek(0, SeekOrigin.Begin);
        using var whole = new MemoryStream();
        await stream.CopyToAsync(whole);
        Assert.Equal(Jpeg, whole.ToArray());
        Assert.False(Store.KnownMissing(id));
    }

    [Fact]
    public async Task An_original_is_written_once_and_a_second_write_changes_nothing()
    {
        var id = Guid.NewGuid();
        await Store.WriteAsync(id, Jpeg, animation: null, CancellationToken.None);

        await Assert.ThrowsAnyAsync<IOException>(() => Store.WriteAsync(id, [0xFF, 0xD8, 0xFF, 0xD9], animation: null, CancellationToken.None));
        Assert.Equal(Jpeg, await Store.ReadOriginalAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task An_animation_written_with_its_original_is_among_its_renders_and_goes_with_it()
    {
        var id = Guid.NewGuid();
        byte[] animation = [.. "RIFF"u8, 4, 0, 0, 0, .. "WEBP"u8];

        await Store.WriteAsync(id, Jpeg, animation, CancellationToken.None);

        Assert.Equal(animation, await Store.ReadRenderAsync(id, Storage.BlobKeys.Animation, 1024, CancellationToken.None));
        await Store.DeleteAsync(id, CancellationToken.None);
        Assert.Null(await Store.ReadRenderAsync(id, Storage.BlobKeys.Animation, 1024, CancellationToken.None));
    }

    [Fact]
    public async Task What_is_not_there_reads_as_nothing()
    {
        var id = Guid.NewGuid();

        Assert.Null(await Store.ReadOriginalAsync(id, CancellationToken.None));
        Assert.Null(await Store.OpenOriginalAsync(id, CancellationToken.None));
        Assert.Null(await Store.OpenRenderAsync(id, "64x48.0123.webp", CancellationToken.None));
        Assert.Null(await Store.ReadRenderAsync(id, "64x48.0123.webp", 1000, CancellationToken.None));
        await Store.DeleteAsync(id, CancellationToken.None); // deleting what is gone is no error
        await Store.DeleteRenderAsync(id, "64x48.0123.webp", CancellationToken.None);
    }

    [Fact]
    public async Task Renders_are_kept_beside_their_original_and_go_with_it()
    {
        var id = Guid.NewGuid();
        var render = TestImages.RandomEllipses(32, 24, ".jpg");
        await Store.WriteAsync(id, Jpeg, animation: null, CancellationToken.None);
        await Store.WriteRenderAsync(id, "32x24.a.jpeg", render, CancellationToken.None);
        await Store.WriteRenderAsync(id, "16x12.b.jpeg", render[..100], CancellationToken.None);

        await using (var kept = await Store.OpenRenderAsync(id, "32x24.a.jpeg", CancellationToken.None))
        {
            Assert.NotNull(kept);
            using var read = new MemoryStream();
            await kept.CopyToAsync(read);
            Assert.Equal(render, read.ToArray());
        }

        Assert.Equal(render, await Store.ReadRenderAsync(id, "32x24.a.jpeg", render.Length, CancellationToken.None));
        Assert.Null(await Store.ReadRenderAsync(id, "32x24.a.jpeg", render.Length - 1, CancellationToken.None));

        await Store.DeleteRenderAsync(id, "16x12.b.jpeg", CancellationToken.None);
        Assert.Null(await Store.ReadRenderAsync(id, "16x12.b.jpeg", 1000, CancellationToken.None));

        await Store.DeleteAsync(id, CancellationToken.None);
        Assert.Null(await Store.ReadOriginalAsync(id, CancellationToken.None));
        Assert.Null(await Store.ReadRenderAsync(id, "32x24.a.jpeg", render.Length, CancellationToken.None));
        Assert.True(Store.KnownMissing(id) || Store is BucketStore or CachedBucketStore);
    }

    [Fact]
    public async Task A_render_of_an_original_that_went_is_not_kept()
    {
        var id = Guid.NewGuid();

        await Store.WriteRenderAsync(id, "32x24.a.jpeg", Jpeg, CancellationToken.None);

        Assert.Null(await Store.ReadRenderAsync(id, "32x24.a.jpeg", Jpeg.Length, CancellationToken.None));
    }

    [Fact]
    public async Task Presence_tells_present_from_missing()
    {
        var (kept, lost) = (Guid.NewGuid(), Guid.NewGuid());
        await Store.WriteAsync(kept, Jpeg, animation: null, CancellationToken.None);

        var presence = await Store.PresenceAsync([kept, lost], CancellationToken.None);

        Assert.Equal(FilePresence.Present, presence[kept]);
        Assert.Equal(FilePresence.Missing, presence[lost]);
        Assert.True(await Store.CountImagesAsync(CancellationToken.None) >= 1);
    }

    [Fact]
    public async Task The_first_identity_claimed_stays()
    {
        Assert.Null(await Store.ReadIdentityAsync(CancellationToken.None));

        Assert.Equal("first", await Store.ClaimIdentityAsync("first", CancellationToken.None));
        Assert.Equal("first", await Store.ClaimIdentityAsync("second", CancellationToken.None));
        Assert.Equal("first", await Store.ReadIdentityAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Leftovers_are_settled_only_once_older_than_the_grace()
    {
        var (listed, orphan) = (Guid.NewGuid(), Guid.NewGuid());
        foreach (var id in new[] { listed, orphan })
        {
            await Store.WriteAsync(id, Jpeg, animation: null, CancellationToken.None);
            await Store.WriteRenderAsync(id, "32x24.a.jpeg", Jpeg, CancellationToken.None);
        }

        var young = await Store.SettleLeftoversAsync([listed], TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Equal((0, 0), (young.Originals, young.Renders));
        Assert.NotNull(await Store.ReadOriginalAsync(orphan, CancellationToken.None));

        var old = await Store.SettleLeftoversAsync([listed], TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);
        Assert.Equal((1, 1), (old.Originals, old.Renders));
        Assert.Null(await Store.ReadOriginalAsync(orphan, CancellationToken.None));
        Assert.Null(await Store.ReadRenderAsync(orphan, "32x24.a.jpeg", Jpeg.Length, CancellationToken.None));
        Assert.Equal(Jpeg, await Store.ReadOriginalAsync(listed, CancellationToken.None));
        Assert.Equal(Jpeg, await Store.ReadRenderAsync(listed, "32x24.a.jpeg", Jpeg.Length, CancellationToken.None));
    }

    [Fact]
    public async Task The_writability_probe_leaves_nothing()
    {
        await Store.ProbeWritableAsync(CancellationToken.None);

        Assert.Equal(0, await Store.CountImagesAsync(CancellationToken.None));
        var settled = await Store.SettleLeftoversAsync([], TimeSpan.Zero, DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);
        Assert.Equal((0, 0), (settled.Originals, settled.Renders));
    }
}

public sealed class FolderBlobStoreTests : BlobStoreContract
{
    private readonly TemporaryFolder _folder = new("asgilook-blobs-");

    protected override Task<IBlobStore> CreateAsync() => Task.FromResult<IBlobStore>(new ImageFiles(_folder.Path));

    public override Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }
}

[Trait(Needs.Trait, Needs.S3)]
[Collection(S3Collection.Name)]
public sealed class BucketBlobStoreTests(S3Server s3) : BlobStoreContract
{
    protected override Task<IBlobStore> CreateAsync() => Task.FromResult<IBlobStore>(new BucketStore(s3.Options(s3.NewBucket())));

    public override Task DisposeAsync()
    {
        ((BucketStore)Store).Dispose();
        return Task.CompletedTask;
    }
}

[Trait(Needs.Trait, Needs.S3)]
[Collection(S3Collection.Name)]
public sealed class CachedBucketBlobStoreTests(S3Server s3) : BlobStoreContract
{
    private readonly TemporaryFolder _folder = new("asgilook-read-cache-");

    protected override Task<IBlobStore> CreateAsync() => Task.FromResult<IBlobStore>(
        new CachedBucketStore(new BucketStore(s3.Options(s3.NewBucket())), new ReadCache(_folder.Path, 1024 * 1024)));

    public override Task DisposeAsync()
    {
        ((CachedBucketStore)Store).Dispose();
        _folder.Dispose();
        return Task.CompletedTask;
    }
}
