using Asgilook.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Asgilook.Storage;

public static class StorageServices
{
    /// <summary>
    /// The image store: the JPEG files in <c>Asgilook:StoragePath</c>, their catalog (PostgreSQL when
    /// <c>Asgilook:Database</c> is set, otherwise SQLite beside the files), and the repair at startup.
    /// </summary>
    public static IServiceCollection AddImageStorage(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new ImageFiles(provider.Settings().StoragePath));
        services.TryAddSingleton<IImageCatalog>(provider => provider.Settings().Database is { Length: > 0 } database
            ? new PostgresImageCatalog(database)
            : new SqliteImageCatalog(Path.Combine(provider.GetRequiredService<ImageFiles>().Root, SqliteImageCatalog.FileName)));
        services.TryAddSingleton<ImageStore>();
        services.TryAddSingleton<StorageStartup>();
        services.AddHostedService<StoreInitializer>();
        services.AddHostedService<PlaceholderBackfill>();
        return services;
    }
}
