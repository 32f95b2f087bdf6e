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
    private const string Columns = "id, width, height, uploaded_at, byte_length, sha256, delete_token_hash, owner_key_id, placeholder, colour, blob_id, frames";

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
        ("blob_id", "TEXT"),
        ("frames", "INTEGER"),
    ];

    public abstract Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Indexes on columns added since the first schema (created after them): a key's images, for its usage; the images of
    /// a content, to store it once; and the images sharing an image's bytes, to know when they are no longer used.
    /// </summary>
    protected const string AddedIndexes = """
        CREATE INDEX IF NOT EXISTS images_by_owner ON images (owner_key_id);
        CREATE INDEX IF NOT EXISTS images_by_content ON images (sha256);
        CREATE INDEX IF NOT EXISTS images_by_blob ON images (blob_id);
        """;

    /// <summary>The lock spaces of <see cref="LockAsync"/>.</summary>
    protected enum LockSpace { OwnerKey = 1, Content = 2 }

    private const string UsageQuery = "SELECT COUNT(*), CAST(COALESCE(SUM(byte_length), 0) AS BIGINT) FROM images WHERE owner_key_id = @owner;";

    /// <summary>Whether any row uses the bytes @blob (a row names another's bytes in blob_id; its own by leaving it null).</summary>
    private const string BlobUsedQuery = "SELECT 1 FROM images WHERE blob_id = @blob OR (id = @blob_owner AND blob_id IS NULL) LIMIT 1;";

    public async Task<AddOutcome> AddAsync(StoredImage image, Quota quota, bool bytesWritten, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var owner = quota.Limits ? image.OwnerKeyId : null; // the key whose quota counts, if any
        if (owner is not null)
        {
            // The key's lock first, then the content's: every writer takes them in this order.
            await LockAsync(connection, transaction, LockSpace.OwnerKey, owner, cancellationToken);
        }

        await LockAsync(connection, transaction, LockSpace.Content, image.Sha256, cancellationToken);
        if (owner is not null)
        {
            var usage = await UsageAsync(connection, transaction, owner, cancellationToken);
            if (quota.PassedBy(usage, image.ByteLength) is not null)
            {
                return new AddOutcome(AddResult.PastQuota, Usage: usage);
            }
        }

        var twin = await BlobOfContentAsync(connection, transaction, image.Sha256, cancellationToken);
        if (twin is null && !bytesWritten)
        {
            return new AddOutcome(AddResult.NeedsBytes);
        }

        var blob = twin ?? image.Id;
        await using (var insert = Insert(connection, image with { BlobId = blob == image.Id ? null : blob }))
        {
            insert.Transaction = transaction;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new AddOutcome(AddResult.Added, blob);
    }

    public async Task<KeyUsage> UsageAsync(string ownerKeyId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await UsageAsync(connection, null, ownerKeyId, cancellationToken);
    }

    /// <summary>A write transaction (SQLite's takes the database's one write lock at once).</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Holds, until the transaction ends, the lock on <paramref name="key"/> in its space (SQLite's write lock holds them all).</summary>
    protected abstract Task LockAsync(DbConnection connection, DbTransaction transaction, LockSpace space, string key, CancellationToken cancellationToken);

    private static async Task<KeyUsage> UsageAsync(DbConnection connection, DbTransaction? transaction, string owner, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, UsageQuery, ("owner", owner));
        command.Transaction = transaction;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new KeyUsage(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The bytes a listed image of this content uses; null when none is listed.</summary>
    private async Task<Guid?> BlobOfContentAsync(DbConnection connection, DbTransaction transaction, string sha256, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "SELECT id, blob_id FROM images WHERE sha256 = @sha256 LIMIT 1;", ("sha256", sha256));
        command.Transaction = transaction;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? BlobOf(reader, 0, 1) : null;
    }

    private Guid BlobOf(DbDataReader row, int idColumn, int blobColumn) =>
        row.IsDBNull(blobColumn) ? ReadId(row, idColumn) : Guid.Parse(row.GetString(blobColumn));

    private DbCommand Insert(DbConnection connection, StoredImage image) => Command(
        connection, $"INSERT INTO images ({Columns}) VALUES (@id, @width, @height, @uploaded_at, @byte_length, @sha256, @delete_token_hash, @owner_key_id, @placeholder, @colour, @blob_id, @frames);",
        ("id", IdValue(image.Id)), ("width", image.Width), ("height", image.Height),
        ("uploaded_at", image.Modified.ToUnixTimeMilliseconds()), ("byte_length", image.ByteLength), ("sha256", image.Sha256),
        ("delete_token_hash", (object?)image.DeleteTokenHash ?? DBNull.Value), ("owner_key_id", (object?)image.OwnerKeyId ?? DBNull.Value),
        ("placeholder", (object?)image.Placeholder?.Preview ?? DBNull.Value), ("colour", (object?)image.Placeholder?.Colour ?? DBNull.Value),
        ("blob_id", (object?)image.BlobId?.ToString() ?? DBNull.Value), ("frames", (object?)image.Frames ?? DBNull.Value));

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

    public async Task<RemovedRow?> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        string sha256;
        Guid blob;
        await using (var find = Command(connection, "SELECT sha256, id, blob_id FROM images WHERE id = @id;", ("id", IdValue(id))))
        {
            find.Transaction = transaction;
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            (sha256, blob) = (reader.GetString(0), BlobOf(reader, 1, 2));
        }

        // The content's lock: an upload of the same content either sees this row gone or is seen using the bytes.
        await LockAsync(connection, transaction, LockSpace.Content, sha256, cancellationToken);
        await using (var delete = Command(connection, "DELETE FROM images WHERE id = @id;", ("id", IdValue(id))))
        {
            delete.Transaction = transaction;
            if (await delete.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return null; // deleted meanwhile by another request
            }
        }

        await using var used = Command(connection, BlobUsedQuery, ("blob", blob.ToString()), ("blob_owner", IdValue(blob)));
        used.Transaction = transaction;
        var unused = await used.ExecuteScalarAsync(cancellationToken) is null;
        await transaction.CommitAsync(cancellationToken);
        return new RemovedRow(blob, unused);
    }

    public async Task<IReadOnlyList<Guid>> ImagesWithContentAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT id FROM images WHERE sha256 = @sha256;", ("sha256", sha256));
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(ReadId(reader, 0));
        }

        return ids;
    }

    public async Task<ILookup<Guid, Guid>> ImagesByBlobAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT id, blob_id FROM images;");
        var rows = new List<(Guid Blob, Guid Image)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((BlobOf(reader, 0, 1), ReadId(reader, 0)));
        }

        return rows.ToLookup(row => row.Blob, row => row.Image);
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
        row.IsDBNull(8) || row.IsDBNull(9) ? null : new Imaging.Placeholder(row.GetString(8), row.GetString(9)),
        row.IsDBNull(10) ? null : Guid.Parse(row.GetString(10)),
        row.IsDBNull(11) ? null : row.GetInt32(11));
}
