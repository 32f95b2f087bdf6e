using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Asgilook.Storage;

/// <summary>
/// The catalog in a SQLite database in the storage folder, in WAL mode, so that it survives restarts
/// and several server processes on one machine can share it. Upload order is (uploaded_at, seq).
/// </summary>
public sealed class SqliteImageCatalog(string databasePath) : IImageCatalog
{
    public const string FileName = "asgilook.db";

    private const string Columns = "id, width, height, uploaded_at, byte_length, sha256";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS images (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            id          TEXT    NOT NULL UNIQUE,
            width       INTEGER NOT NULL,
            height      INTEGER NOT NULL,
            uploaded_at INTEGER NOT NULL,
            byte_length INTEGER NOT NULL,
            sha256      TEXT    NOT NULL
        );
        CREATE INDEX IF NOT EXISTS images_in_upload_order ON images (uploaded_at, seq);
        """;

    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        // Writers from other processes hold the lock for milliseconds; wait for them rather than fail.
        DefaultTimeout = 30,
    }.ToString();

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // WAL is a property of the database file: set once, it holds for every connection and process.
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
        await ExecuteAsync(connection, Schema, cancellationToken);
    }

    public async Task AddAsync(StoredImage image, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO images ({Columns}) VALUES ($id, $width, $height, $uploaded_at, $byte_length, $sha256);";
        command.Parameters.AddWithValue("$id", image.Id.ToString());
        command.Parameters.AddWithValue("$width", image.Width);
        command.Parameters.AddWithValue("$height", image.Height);
        command.Parameters.AddWithValue("$uploaded_at", image.Modified.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$byte_length", image.ByteLength);
        command.Parameters.AddWithValue("$sha256", image.Sha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM images WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<ImagePage?> ListAsync(Guid? after, int? limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = string.Empty;
        if (after is { } cursor)
        {
            await using var exists = connection.CreateCommand();
            exists.CommandText = "SELECT 1 FROM images WHERE id = $id;";
            exists.Parameters.AddWithValue("$id", cursor.ToString());
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }

            where = "WHERE (uploaded_at, seq) > (SELECT uploaded_at, seq FROM images WHERE id = $after)";
            command.Parameters.AddWithValue("$after", cursor.ToString());
        }

        // One row more than asked tells whether another page follows.
        command.CommandText = $"SELECT {Columns} FROM images {where} ORDER BY uploaded_at, seq LIMIT $limit;";
        command.Parameters.AddWithValue("$limit", limit is { } pageSize ? pageSize + 1L : -1L);

        var images = new List<StoredImage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            images.Add(Read(reader));
        }

        var hasMore = limit is { } size && images.Count > size;
        return new ImagePage(hasMore ? images[..limit!.Value] : images, hasMore);
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM images WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id.ToString());
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<IReadOnlyCollection<Guid>> AllIdsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM images;";
        var ids = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(Guid.Parse(reader.GetString(0)));
        }

        return ids;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // FULL: a committed upload survives a power cut, not only a crash of the process.
        await ExecuteAsync(connection, "PRAGMA synchronous = FULL;", cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static StoredImage Read(DbDataReader row) => new(
        Guid.Parse(row.GetString(0)),
        row.GetInt32(1),
        row.GetInt32(2),
        DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(3)),
        row.GetInt64(4),
        row.GetString(5));
}
