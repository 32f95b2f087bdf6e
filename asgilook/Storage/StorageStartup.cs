using Asgilook.Configuration;
using Microsoft.Extensions.Options;

namespace Asgilook.Storage;

/// <summary>
/// What startup does to the storage before the server takes traffic. The storage folder and the catalog
/// must know each other: at the first start both get one identity (a file in the folder, a row in the
/// catalog), and a later start with a folder that is not the catalog's (a shared volume not mounted, an
/// instance pointed at a fresh SQLite beside another's files) refuses to start, as PostgreSQL refuses a
/// data folder with another system identifier. Then what a crash left is looked at: rows whose file the system
/// says does not exist are reported, and unlisted only when <c>UnlistMissingFiles</c> says so (a file that is
/// only unreadable for now, on a network mount having a bad minute, is never taken for lost); more than a small
/// share of them missing fails the start, since the likelier cause is a folder that is not mounted. Leftover
/// files go to <c>.quarantine/</c>, never deleted.
/// </summary>
public sealed partial class StorageStartup(
    IImageCatalog catalog, IBlobStore blobs, IOptions<AsgilookOptions> options, TimeProvider clock, ILogger<StorageStartup> logger)
{
    /// <summary>Unlisting up to this many missing files needs no confirmation, whatever the share.</summary>
    public const int UnlistedWithoutAsking = 3;

    /// <summary>Nor does unlisting up to this share of the catalog.</summary>
    public const double ShareUnlistedWithoutAsking = 0.1;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await blobs.PrepareAsync(cancellationToken);
        await catalog.MigrateAsync(cancellationToken);
        var catalogued = await catalog.ImagesByBlobAsync(cancellationToken);
        var listed = catalogued.Sum(blob => blob.Count());
        await MatchIdentitiesAsync(listed, cancellationToken);
        await RepairAsync(catalogued, listed, cancellationToken);
    }

    private async Task MatchIdentitiesAsync(int rows, CancellationToken cancellationToken)
    {
        var folderId = await blobs.ReadIdentityAsync(cancellationToken);
        var catalogId = await catalog.GetStorageIdAsync(cancellationToken);
        if (folderId is not null && folderId == catalogId)
        {
            return;
        }

        if (folderId is not null && catalogId is not null)
        {
            throw Mismatch($"the storage {blobs.Description} is storage {folderId}, but {catalog.Description} lists storage {catalogId}");
        }

        if (folderId is null && catalogId is not null && rows > 0)
        {
            throw Mismatch($"{catalog.Description} lists {rows} image(s) of storage {catalogId}, but {blobs.Description} has no storage identity: " +
                "is the shared volume mounted, or the right bucket named (a folder store is copied into a bucket with migrate-store)?");
        }

        if (catalogId is null && folderId is not null && await blobs.CountImagesAsync(cancellationToken) > 0)
        {
            throw Mismatch($"{blobs.Description} holds the images of storage {folderId}, but {catalog.Description} has never listed it: " +
                "is this instance pointed at the right database (ASGI_LOOK_DATABASE)?");
        }

        // A first start (or a store from before identities), or one side new and empty: one identity for both.
        var claimed = await blobs.ClaimIdentityAsync(catalogId ?? folderId ?? Guid.NewGuid().ToString(), cancellationToken);
        var recorded = await catalog.ClaimStorageIdAsync(claimed, cancellationToken);
        if (recorded != claimed)
        {
            throw Mismatch($"{catalog.Description} was claimed by storage {recorded} meanwhile, not by {blobs.Description} ({claimed})");
        }

        Log.Identified(logger, blobs.Description, catalog.Description, claimed);
    }

    /// <param name="catalogued">The listed images by the bytes they use: bytes gone unlist every image using them.</param>
    /// <param name="listed">How many images they are.</param>
    private async Task RepairAsync(ILookup<Guid, Guid> catalogued, int listed, CancellationToken cancellationToken)
    {
        var presence = await blobs.PresenceAsync([.. catalogued.Select(blob => blob.Key)], cancellationToken);
        var missing = presence.Where(pair => pair.Value is FilePresence.Missing).SelectMany(pair => catalogued[pair.Key]).ToList();
        var unknown = presence.Where(pair => pair.Value is FilePresence.Unknown).Sum(pair => catalogued[pair.Key].Count());
        var unlist = options.Value.UnlistMissingFiles || options.Value.AllowLargeRepair;
        if (missing.Count > UnlistedWithoutAsking && missing.Count > listed * ShareUnlistedWithoutAsking && !unlist)
        {
            throw Mismatch($"{missing.Count} of the {listed} images {catalog.Description} lists have no file in {blobs.Description}. " +
                "Nothing was unlisted: mount or restore the folder (or name the right bucket), or, if those files really are lost, start once with Asgilook:UnlistMissingFiles=true");
        }

        if (unlist)
        {
            foreach (var id in missing)
            {
                await catalog.DeleteAsync(id, cancellationToken);
            }
        }

        // What was unreadable may come back: its renders and files are left where they are.
        var kept = presence.Where(pair => !unlist || pair.Value is not FilePresence.Missing).Select(pair => pair.Key).ToList();
        var leftovers = await blobs.SettleLeftoversAsync(kept, options.Value.LeftoverGracePeriod, clock.GetUtcNow(), cancellationToken);
        if (missing.Count > 0 && !unlist)
        {
            Log.Missing(logger, missing.Count, blobs.Description);
        }

        if (unknown > 0)
        {
            Log.Unreadable(logger, unknown, blobs.Description);
        }

        if ((unlist && missing.Count > 0) || leftovers.Originals > 0)
        {
            Log.Repaired(logger, unlist ? missing.Count : 0, leftovers.Originals, leftovers.MovedTo ?? "nowhere: deleted");
        }
    }

    private StorageMismatchException Mismatch(string reason) => new($"Asgilook will not start: {reason}.");

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Storage {Folder} and catalog {Catalog} are storage {StorageId}")]
        public static partial void Identified(ILogger logger, string folder, string catalog, string storageId);

        [LoggerMessage(LogLevel.Warning, "{MissingFiles} listed image(s) have no file in {Folder}: they answer 404 until restored, and stay listed (start with Asgilook:UnlistMissingFiles=true to unlist them)")]
        public static partial void Missing(ILogger logger, int missingFiles, string folder);

        [LoggerMessage(LogLevel.Warning, "The files of {Count} listed image(s) in {Folder} could not be read at startup; they were left as they are")]
        public static partial void Unreadable(ILogger logger, int count, string folder);

        [LoggerMessage(LogLevel.Warning, "Storage repaired at startup: {MissingFiles} listed image(s) without a file unlisted, {Leftovers} leftover file(s) moved to {Quarantine}")]
        public static partial void Repaired(ILogger logger, int missingFiles, int leftovers, string quarantine);
    }
}

/// <summary>The storage folder and the catalog do not belong together, or repairing them would unlist too much.</summary>
public sealed class StorageMismatchException(string message) : InvalidOperationException(message);
