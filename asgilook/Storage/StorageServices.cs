using Asgilook.Configuration;
using Asgilook.Storage.Bucket;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Storage;

public static class StorageServices
{
    /// <summary>
    /// The image store: the bytes in an S3 bucket when <c>Asgilook:S3</c> names one (with copies of the originals read
    /// kept in the storage folder, bounded), otherwise in the folder <c>Asgilook:StoragePath</c>; their catalog (PostgreSQL when <c>Asgilook:Database</c> is set, otherwise SQLite in the
    /// storage folder); and the repair at startup (with a bucket, a sweep of its leftovers while running too).
    /// </summary>
    public static IServiceCollection AddImageStorage(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IBlobStore>(provider => provider.Settings() switch
        {
            { S3: { Configured: true, ReadCacheMegabytes: > 0 } s3 } settings => new CachedBucketStore(
                new BucketStore(s3, provider.GetRequiredService<Operations.AsgilookMetrics>()),
                new ReadCache(settings.StoragePath, s3.ReadCacheMegabytes * 1024L * 1024)),
            { S3: { Configured: true } s3 } => new BucketStore(s3, provider.GetRequiredService<Operations.AsgilookMetrics>()),
            var settings => new ImageFiles(settings.StoragePath),
        });
        services.TryAddSingleton<IImageCatalog>(provider => provider.Settings().Database is { Length: > 0 } database
            ? new PostgresImageCatalog(database)
            : new SqliteImageCatalog(SqlitePath(provider.Settings().StoragePath)));
        services.TryAddSingleton<ImageStore>();
        services.TryAddSingleton<StorageStartup>();
        services.AddHostedService<StoreInitializer>();
        services.AddHostedService<PlaceholderBackfill>();
        services.AddHostedService<LeftoverSweep>();
        return services;
    }

    /// <summary>SQLite's file in the storage folder (made when missing: with a bucket, nothing else is in it).</summary>
    private static string SqlitePath(string storagePath) =>
        Path.Combine(Directory.CreateDirectory(Path.GetFullPath(storagePath)).FullName, SqliteImageCatalog.FileName);
}
