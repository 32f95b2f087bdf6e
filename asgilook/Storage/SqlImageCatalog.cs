using System.Data.Common;
using Asgilook.Quotas;

namespace Asgilook.Storage;

/// <summary>
/// The catalog's queries, shared by the SQL databases it runs on (ADO.NET, <c>@name</c> parameters,
/// row-value comparisons). Upload order is (uploaded_at, seq). Subclasses say how to connect, how to
/// create the schema, and how their database stores an id.
/// </summary>
public abstract class SqlImageCatalog : IImageCatalog
{
    private const string Columns = "id, width, height, uploaded_at, byte_length, sha256, delete_token_hash, owner_key_id, placeholder, colour";

    public abstract string Description { get; }

    /// <summary>What the catalog knows of itself: the identity of the storage folder it lists.</summary>
    protected const string MetaSchema = "CREATE TABLE IF NOT EXISTS asgilook_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);";

    /// <summary>
    /// Content an admin blocked when deleting it: the SHA-256 of its stored JPEG (the same upload converts to the same
    /// bytes), which image it was, and when. Shared by every instance that shares the catalog; kept across restarts.
    /// </summary>
    protected const string BlocklistSchema =
        "CREATE TABLE IF NOT EXISTS blocked_content (sha256 TEXT PRIMARY KEY, image_id TEXT NOT NULL, blocked_at BIGINT NOT NULL);";

    /// <summary>
    /// Columns added since the first schema, in order: every catalog adds those it lacks when it
    /// migrates, so a database written by an older version keeps working (its rows read them as null).
    /// </summary>
    protected static readonly (string Column, string Type)[] AddedColumns =
    [
        ("delete_token_hash", "TEXT"),
        ("owner_key_id", "TEXT"),
        ("placeholder", "TEXT"),
        ("colour", "TEXT"),
    ];

    public abstract Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Finds a key's images fast, for its usage.</summary>
    protected const string OwnerIndex = "CREATE INDEX IF NOT EXISTS images_by_owner ON images (owner_key_id);";

    private const string UsageQuery = "SELECT COUNT(*), CAST(COALESCE(SUM(byte_length), 0) AS BIGINT) FROM images WHERE owner_key_id = @owner;";

    public async Task<KeyUsage?> AddAsync(StoredImage image, Quota quota, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        if (image.OwnerKeyId is not { } owner || !quota.Limits)
        {
            await using var insert = Insert(connection, image);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            return null;
        }

        // The key's usage is read and the row added in one transaction that holds the key's write lock, so that
        // uploads with one key on any number of instances are counted one after the other.
        await using var transaction = await BeginLockedAsync(connection, owner, cancellationToken);
        var usage = await UsageAsync(connection, transaction, owner, cancellationToken);
        if (quota.PassedBy(usage, image.ByteLength) is not null)
        {
            return usage;
        }

        await using (var insert = Insert(connection, image))
        {
            insert.Transaction = transaction;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    public async Task<KeyUsage> UsageAsync(string ownerKeyId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await UsageAsync(connection, null, ownerKeyId, cancellationToken);
    }

    /// <summary>A write transaction holding the lock that serialises the additions of one key (SQLite: the database's write lock).</summary>
    protected abstract Task<DbTransaction> BeginLockedAsync(DbConnection connection, string ownerKeyId, CancellationToken cancellationToken);

    private static async Task<KeyUsage> UsageAsync(DbConnection connection, DbTransaction? transaction, string owner, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, UsageQuery, ("owner", owner));
        command.Transaction = transaction;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new KeyUsage(reader.GetInt64(0), reader.GetInt64(1));
    }

    private DbCommand Insert(DbConnection connection, StoredImage image) => Command(
        connection, $"INSERT INTO images ({Columns}) VALUES (@id, @width, @height, @uploaded_at, @byte_length, @sha256, @delete_token_hash, @owner_key_id, @placeholder, @colour);",
        ("id", IdValue(image.Id)), ("width", image.Width), ("height", image.Height),
        ("uploaded_at", image.Modified.ToUnixTimeMilliseconds()), ("byte_length", image.ByteLength), ("sha256", image.Sha256),
        ("delete_token_hash", (object?)image.DeleteTokenHash ?? DBNull.Value), ("owner_key_id", (object?)image.OwnerKeyId ?? DBNull.Value),
        ("placeholder", (object?)image.Placeholder?.Preview ?? DBNull.Value), ("colour", (object?)image.Placeholder?.Colour ?? DBNull.Value));

    public async Task SetPlaceholderAsync(Guid id, Imaging.Placeholder placeholder, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection, "UPDATE images SET placeholder = @placeholder, colour = @colour WHERE id = @id AND placeholder IS NULL;",
            ("id", IdValue(id)), ("placeholder", placeholder.Preview), ("colour", placeholder.Colour));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<Guid>> WithoutPlaceholderAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT id FROM images WHERE placeholder IS NULL ORDER BY uploaded_at, seq LIMIT @limit;", ("limit", (long)limit));
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(ReadId(reader, 0));
        }

        return ids;
    }

    public async Task<string?> GetStorageIdAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT value FROM asgilook_meta WHERE name = 'storage_id';");
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<string> ClaimStorageIdAsync(string storageId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // Both databases read ON CONFLICT DO NOTHING: the first claim wins, every instance reads it back.
        await using (var claim = Command(connection, "INSERT INTO asgilook_meta (name, value) VALUES ('storage_id', @id) ON CONFLICT (name) DO NOTHING;", ("id", storageId)))
        {
            await claim.ExecuteNonQueryAsync(cancellationToken);
        }

        return await GetStorageIdAsync(cancellationToken) ?? storageId;
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT 1;");
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task<StoredImage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, $"SELECT {Columns} FROM images WHERE id = @id;", ("id", IdValue(id)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<ImagePage?> ListAsync(Guid? after, int? limit, ListOrder order, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var where = string.Empty;
        if (after is { } cursor)
        {
            await using var exists = Command(connection, "SELECT 1 FROM images WHERE id = @id;", ("id", IdValue(cursor)));
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }

            where = $"WHERE (uploaded_at, seq) {(order == ListOrder.NewestFirst ? "<" : ">")} (SELECT uploaded_at, seq FROM images WHERE id = @after)";
        }

        // One row more than asked tells whether another page follows.
        await using var command = Command(
            connection, $"SELECT {Columns} FROM images {where} ORDER BY {(order == ListOrder.NewestFirst ? "uploaded_at DESC, seq DESC" : "uploaded_at, seq")} LIMIT @limit;",
            ("limit", limit is { } pageSize ? pageSize + 1L : NoLimit));
        if (after is { } id)
        {
            AddParameter(command, "after", IdValue(id));
        }

        var images = new List<StoredImage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            images.Add(Read(reader));
        }

        var hasMore = limit is { } size && images.Count > size;
        return new ImagePage(hasMore ? images[..limit!.Value] : images, hasMore);
    }

    public async Task BlockAsync(string sha256, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection, "INSERT INTO blocked_content (sha256, image_id, blocked_at) VALUES (@sha256, @image_id, @blocked_at) ON CONFLICT (sha256) DO NOTHING;",
            ("sha256", sha256), ("image_id", imageId.ToString()), ("blocked_at", at.ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> IsBlockedAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT 1 FROM blocked_content WHERE sha256 = @sha256;", ("sha256", sha256));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "DELETE FROM images WHERE id = @id;", ("id", IdValue(id)));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<IReadOnlyCollection<Guid>> AllIdsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT id FROM images;");
        var ids = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(ReadId(reader, 0));
        }

        return ids;
    }

    /// <summary>The value <c>LIMIT</c> takes for "no limit".</summary>
    protected abstract object NoLimit { get; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>An id as this database stores it.</summary>
    protected abstract object IdValue(Guid id);

    protected abstract Guid ReadId(DbDataReader row, int column);

    protected static DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value);
        }

        return command;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private StoredImage Read(DbDataReader row) => new(
        ReadId(row, 0),
        row.GetInt32(1),
        row.GetInt32(2),
        DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(3)),
        row.GetInt64(4),
        row.GetString(5),
        row.IsDBNull(6) ? null : row.GetString(6),
        row.IsDBNull(7) ? null : row.GetString(7),
        row.IsDBNull(8) || row.IsDBNull(9) ? null : new Imaging.Placeholder(row.GetString(8), row.GetString(9)));
}
