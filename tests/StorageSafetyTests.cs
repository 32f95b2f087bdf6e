using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Asgilook.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Asgilook.Tests;

/// <summary>
/// No bad restart or bad moment can lose or corrupt what was stored: a storage folder and a catalog that
/// do not belong together refuse to start, a repair that would unlist most images refuses too, an insert
/// that committed but timed out stands, and a delete that could not remove its file still drops its answers.
/// </summary>
[Trait(Needs.Trait, Needs.PostgreSQL)]
public sealed class StorageSafetyTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task ACatalogStartedOnAFolderThatIsNotItsOwnRefusesToStartAndKeepsEverything()
    {
        var database = new Dictionary<string, string?> { ["Asgilook:Database"] = await postgres.NewDatabaseAsync() };
        using var shared = new TemporaryFolder("asgilook-shared-");
        await using (var first = await TestApp.StartAsync(settings: database, storagePath: shared.Path))
        {
            for (var i = 0; i < 3; i++)
            {
                await first.Client.PostImageAsync(TestImages.RandomEllipses());
            }
        }

        // The shared volume not mounted: the instance sees an empty folder where the images were.
        using var unmounted = new TemporaryFolder("asgilook-unmounted-");
        var notMounted = await Assert.ThrowsAsync<StorageMismatchException>(() => TestApp.StartAsync(settings: database, storagePath: unmounted.Path));
        Assert.Contains("is the shared volume mounted, or the right bucket named", notMounted.Message);

        // An instance started without ASGI_LOOK_DATABASE on the shared folder: a new, empty SQLite catalog.
        var noDatabase = await Assert.ThrowsAsync<StorageMismatchException>(() => TestApp.StartAsync(storagePath: shared.Path));
        Assert.Contains("is this instance pointed at the right database (ASGI_LOOK_DATABASE)?", noDatabase.Message);

        // Neither start removed a row or a file: the right pair still lists all three.
        Assert.Equal(3, Directory.GetFiles(shared.Path, "*.jpeg").Length);
        await using var again = await TestApp.StartAsync(settings: database, storagePath: shared.Path);
        Assert.Equal(3, (await again.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Fact]
    public async Task ARepairThatWouldUnlistMostImagesRefusesUntilAllowed()
    {
        using var storage = new TemporaryFolder("asgilook-repair-");
        await using (var first = await TestApp.StartAsync(storagePath: storage.Path))
        {
            for (var i = 0; i < 6; i++)
            {
                await first.Client.PostImageAsync(TestImages.RandomEllipses(200, 100));
            }
        }

        foreach (var file in Directory.GetFiles(storage.Path, "*.jpeg").Skip(1))
        {
            File.Delete(file); // five of six gone: a failed copy, not a crash
        }

        var refused = await Assert.ThrowsAsync<StorageMismatchException>(() => TestApp.StartAsync(storagePath: storage.Path));
        Assert.Contains("5 of the 6 images", refused.Message);
        Assert.Contains("Asgilook:UnlistMissingFiles=true", refused.Message);

        // The former name of the setting is taken too.
        await using var allowed = await TestApp.StartAsync(settings: new Dictionary<string, string?> { ["Asgilook:AllowLargeRepair"] = "true" }, storagePath: storage.Path);
        Assert.Equal(1, (await allowed.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Theory]
    [InlineData(true, HttpStatusCode.Created)]
    [InlineData(false, HttpStatusCode.ServiceUnavailable)]
    public async Task AnInsertThatTimedOutIsCheckedBeforeItsFileGoes(bool committed, HttpStatusCode expected)
    {
        using var storage = new TemporaryFolder("asgilook-timeout-");
        var catalog = new TimingOutCatalog(new SqliteImageCatalog(Path.Combine(storage.Path, SqliteImageCatalog.FileName)), committed);
        await using var app = await TestApp.StartAsync(storagePath: storage.Path, services: services => services.AddSingleton<IImageCatalog>(catalog));
        catalog.TimeOutNextInsert = true;

        using var response = await app.Client.PostAsync("/images", new ByteArrayContent(TestImages.RandomEllipses()));

        Assert.Equal(expected, response.StatusCode);
        // Committed: the upload stands. Not known (the re-read failed too): the file is kept for the next start to settle.
        Assert.Single(app.StoredFiles());
        Assert.Equal(committed ? 1 : 0, (await app.Client.GetFromJsonAsync<JsonElement>("/images")).GetArrayLength());
    }

    [Fact]
    public async Task ADeleteWhoseFileCannotBeRemovedStillDropsItsAnswersAndTellsListeners()
    {
        await using var app = await TestApp.StartAsync();
        var posted = await app.Client.PostImageAsync(TestImages.RandomEllipses());
        var thumbnail = posted.GetProperty("thumbnails")[0].GetString()!;
        using (await app.Client.GetAsync(thumbnail)) { }
        using (await app.Client.GetAsync("/images")) { }
        using var stream = await app.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await stream.Content.ReadAsStreamAsync());
        // A path that File.Delete cannot remove: the file turned into a folder of the same name.
        var file = Path.Combine(app.StoragePath, $"{posted.GetProperty("id").GetString()}.jpeg");
        File.Delete(file);
        Directory.CreateDirectory(Path.Combine(file, "stuck"));

        using var deleted = await app.Client.DeleteImageAsync(posted);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal("[]", await app.Client.GetStringAsync("/images"));
        using var gone = await app.Client.GetAsync(thumbnail);
        await gone.AssertProblemAsync(HttpStatusCode.NotFound);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await events.ReadLineAsync(timeout.Token) is { } line && line != "event: deleted")
        {
        }

        Assert.Contains(app.Logs.Warnings("ImageStore"), warning => warning.Contains("could not be deleted", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnUploadFlushesTheFolderAfterTheRenameBeforeItsRowIsWritten(bool animated)
    {
        Assert.True(File.Exists("/usr/bin/strace"), "strace is missing: ./test.sh installs it");
        using var storage = new TemporaryFolder("asgilook-fsync-");
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?> { ["ASGI_LOOK_STORAGE_PATH"] = storage.Path });
        using var trace = new TemporaryFolder("asgilook-strace-");
        var prefix = Path.Combine(trace.Path, "calls");
        // -ff: a file per thread, so that each call is one whole line (merged below by their times).
        // Not quiet: strace says "Process N attached with M threads" once it traces every thread, which is the signal to go on.
        using var strace = new Process
        {
            StartInfo = new ProcessStartInfo(
                "strace", ["-f", "-ff", "-ttt", "-e", "trace=openat,rename,renameat,renameat2,link,linkat,fsync,fdatasync", "-o", prefix, "-p", server.Pid.ToString()])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        var attached = 0;
        strace.ErrorDataReceived += (_, line) =>
        {
            if (line.Data?.Contains(" attached", StringComparison.Ordinal) == true)
            {
                Interlocked.Increment(ref attached);
            }
        };
        strace.Start();
        strace.BeginErrorReadLine();
        await Loopback.WaitUntilAsync(() => Volatile.Read(ref attached) > 0, "strace did not attach");

        var posted = await server.Client.PostImageAsync(animated ? TestImages.Animated(320, 240, frames: 3, ".gif") : TestImages.RandomEllipses());
        strace.Kill();
        await strace.WaitForExitAsync();

        var id = posted.GetProperty("id").GetString();
        var name = $"{id}.jpeg";
        // Every thread's calls in the order they were made (a write's await may go on on another thread): strace
        // prefixes each with its time, and -ff keeps each thread's lines whole.
        var thread = Directory.GetFiles(trace.Path).SelectMany(File.ReadAllLines)
            .Select(line => line.Split(' ', 2))
            .Where(parts => parts.Length == 2 && double.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out _))
            .OrderBy(parts => double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture))
            .Select(parts => parts[1])
            .ToList();
        // The file arrives in the folder by a rename (link, for a move that must not overwrite), then the folder itself is
        // opened and flushed; an animation (which cannot be made again, unlike a render) arrives in its renders folder,
        // flushed too, and both before the storage folder's flush that precedes the row.
        var flushed = AssertFlushedAfterArrival(thread, name, storage.Path);
        if (animated)
        {
            var renders = Path.Combine(storage.Path, $"{id}.renders");
            Assert.True(AssertFlushedAfterArrival(thread, Path.Combine(renders, Storage.BlobKeys.Animation), renders) < flushed);
        }
    }

    private static bool Arrives(string call, string name) =>
        (call.StartsWith("link", StringComparison.Ordinal) || call.StartsWith("rename", StringComparison.Ordinal)) && call.Contains(name, StringComparison.Ordinal);

    /// <summary>The index of the folder's flush, after the call that brought the file into it.</summary>
    private static int AssertFlushedAfterArrival(List<string> thread, string name, string folder)
    {
        var arrival = thread.FindIndex(call => Arrives(call, name));
        Assert.True(arrival >= 0, $"{name} did not arrive by a rename:\n{string.Join('\n', thread)}");
        var folderOpened = thread.FindIndex(arrival, call => call.StartsWith("openat", StringComparison.Ordinal) && call.Contains($"\"{folder}\"", StringComparison.Ordinal) && call.Contains("O_DIRECTORY", StringComparison.Ordinal));
        Assert.True(folderOpened > arrival, $"{folder} was not opened after the file arrived:\n{string.Join('\n', thread)}");
        var descriptor = thread[folderOpened][(thread[folderOpened].LastIndexOf('=') + 1)..].Trim();
        var flushed = thread.FindIndex(folderOpened, call => call.StartsWith($"fsync({descriptor})", StringComparison.Ordinal) && call.EndsWith("= 0", StringComparison.Ordinal));
        Assert.True(flushed > folderOpened, $"{folder} was not flushed after the file arrived:\n{string.Join('\n', thread)}");
        return flushed;
    }

    /// <summary>SQLite, whose next insert commits (or not) and then answers with a timeout, as a database can under load.</summary>
    private sealed class TimingOutCatalog(IImageCatalog inner, bool commitBeforeTimingOut) : IImageCatalog
    {
        public bool TimeOutNextInsert { get; set; }

        private bool _readFails;

        public string Description => inner.Description;

        public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

        public Task BlockAsync(string sha256, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken) =>
            inner.BlockAsync(sha256, imageId, at, cancellationToken);

        public Task<bool> IsBlockedAsync(string sha256, CancellationToken cancellationToken) => inner.IsBlockedAsync(sha256, cancellationToken);

        public async Task<AddOutcome> AddAsync(StoredImage image, Asgilook.Quotas.Quota quota, bool bytesWritten, CancellationToken cancellationToken)
        {
            if (!TimeOutNextInsert || !bytesWritten)
            {
                return await inner.AddAsync(image, quota, bytesWritten, cancellationToken);
            }

            TimeOutNextInsert = false;
            if (commitBeforeTimingOut)
            {
                await inner.AddAsync(image, quota, bytesWritten, cancellationToken);
            }
            else
            {
                _readFails = true; // and the database stays away for the re-read too
            }

            throw new TimedOut();
        }

        public Task<Asgilook.Quotas.KeyUsage> UsageAsync(string ownerKeyId, CancellationToken cancellationToken) => inner.UsageAsync(ownerKeyId, cancellationToken);

        public Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken) =>
            _readFails ? throw new TimedOut() : inner.GetAsync(id, cancellationToken);

        public Task<ImagePage?> ListAsync(Guid? after, int? limit, ListOrder order, CancellationToken cancellationToken) => inner.ListAsync(after, limit, order, cancellationToken);

        public Task<RemovedRow?> DeleteAsync(Guid id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public Task<ILookup<Guid, Guid>> ImagesByBlobAsync(CancellationToken cancellationToken) => inner.ImagesByBlobAsync(cancellationToken);

        public Task<IReadOnlyList<Guid>> ImagesWithContentAsync(string sha256, CancellationToken cancellationToken) => inner.ImagesWithContentAsync(sha256, cancellationToken);

        public Task<string?> GetStorageIdAsync(CancellationToken cancellationToken) => inner.GetStorageIdAsync(cancellationToken);

        public Task<string> ClaimStorageIdAsync(string storageId, CancellationToken cancellationToken) => inner.ClaimStorageIdAsync(storageId, cancellationToken);

        public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

        public Task SetPlaceholderAsync(Guid id, Asgilook.Imaging.Placeholder placeholder, CancellationToken cancellationToken) =>
            inner.SetPlaceholderAsync(id, placeholder, cancellationToken);

        public Task<IReadOnlyList<Guid>> WithoutPlaceholderAsync(int limit, CancellationToken cancellationToken) =>
            inner.WithoutPlaceholderAsync(limit, cancellationToken);
    }

    /// <summary>What Npgsql throws when a command's reply does not come in time: transient, outcome unknown.</summary>
    private sealed class TimedOut() : DbException("Timeout during reading attempt", new TimeoutException())
    {
        public override bool IsTransient => true;
    }
}
