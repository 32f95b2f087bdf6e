using System.Data.Common;
using Npgsql;

namespace Asgilook.Storage;

/// <summary>
/// The catalog in PostgreSQL, for several instances on several machines (chosen when
/// <c>Asgilook:Database</c> / <c>ASGI_LOOK_DATABASE</c> holds a connection string). Same behaviour as
/// <see cref="SqliteImageCatalog"/>, proven by the same tests.
/// </summary>
public sealed class PostgresImageCatalog(string connectionString) : IImageCatalog, IAsyncDisposable
{
    private const string Columns = "id, width, height, uploaded_at, byte_length, sha256";

    /// <summary>Taken for the migration, so that instances starting at once create the schema one at a time.</summary>
    private const long MigrationLock = 0x61_73_67_69_6c_6f_6f_6b; // "asgilook"

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS images (
            seq         BIGSERIAL PRIMARY KEY,
            id          UUID      NOT NULL UNIQUE,
            width       INTEGER   NOT NULL,
            height      INTEGER   NOT NULL,
            uploaded_at BIGINT    NOT NULL,
            byte_length BIGINT    NOT NULL,
            sha256      TEXT      NOT NULL
        );
        CREATE INDEX IF NOT EXISTS images_in_upload_order ON images (uploaded_at, seq);
        """;

    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(connectionString);

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock);", connection, transaction))
        {
            command.Parameters.AddWithValue("lock", MigrationLock);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var command = new NpgsqlCommand(Schema, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task AddAsync(StoredImage image, CancellationToken cancellationToken)
    {
        await using var command = _source.CreateCommand(
            $"INSERT INTO images ({Columns}) VALUES (@id, @width, @height, @uploaded_at, @byte_length, @sha256);");
        command.Parameters.AddWithValue("id", image.Id);
        command.Parameters.AddWithValue("width", image.Width);
        command.Parameters.AddWithValue("height", image.Height);
        command.Parameters.AddWithValue("uploaded_at", image.Modified.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("byte_length", image.ByteLength);
        command.Parameters.AddWithValue("sha256", image.Sha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = _source.CreateCommand($"SELECT {Columns} FROM images WHERE id = @id;");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<ImagePage?> ListAsync(Guid? after, int? limit, CancellationToken cancellationToken)
    {
        var where = string.Empty;
        if (after is { } cursor)
        {
            await using var exists = _source.CreateCommand("SELECT 1 FROM images WHERE id = @id;");
            exists.Parameters.AddWithValue("id", cursor);
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }

            where = "WHERE (uploaded_at, seq) > (SELECT uploaded_at, seq FROM images WHERE id = @after)";
        }

        // One row more than asked tells whether another page follows; NULL is no limit.
        await using var command = _source.CreateCommand($"SELECT {Columns} FROM images {where} ORDER BY uploaded_at, seq LIMIT @limit;");
        if (after is { } id)
        {
            command.Parameters.AddWithValue("after", id);
        }

        command.Parameters.AddWithValue("limit", limit is { } size ? size + 1L : DBNull.Value);
        var images = new List<StoredImage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            images.Add(Read(reader));
        }

        var hasMore = limit is { } pageSize && images.Count > pageSize;
        return new ImagePage(hasMore ? images[..limit!.Value] : images, hasMore);
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = _source.CreateCommand("DELETE FROM images WHERE id = @id;");
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<IReadOnlyCollection<Guid>> AllIdsAsync(CancellationToken cancellationToken)
    {
        await using var command = _source.CreateCommand("SELECT id FROM images;");
        var ids = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private static StoredImage Read(DbDataReader row) => new(
        row.GetGuid(0),
        row.GetInt32(1),
        row.GetInt32(2),
        DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(3)),
        row.GetInt64(4),
        row.GetString(5));
}
