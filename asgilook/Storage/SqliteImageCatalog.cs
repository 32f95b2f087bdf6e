using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Asgilook.Storage;

/// <summary>
/// The catalog in a SQLite database in the storage folder, in WAL mode, so that it survives restarts
/// and several server processes on one machine can share it.
/// </summary>
public sealed class SqliteImageCatalog(string databasePath) : SqlImageCatalog
{
    public const string FileName = "asgilook.db";

    public override string Description => $"SQLite at {databasePath}";

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
        """ + MetaSchema + BlocklistSchema;

    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        // Writers from other processes hold the lock for milliseconds; wait for them rather than fail.
        DefaultTimeout = 30,
    }.ToString();

    public override async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // WAL is a property of the database file: set once, it holds for every connection and process.
        await using (var wal = Command(connection, "PRAGMA journal_mode = WAL;"))
        {
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }

        // IMMEDIATE takes the write lock first: processes starting at once migrate one after the other.
        await using var transaction = ((SqliteConnection)connection).BeginTransaction(deferred: false);
        await using (var schema = InTransaction(Command(connection, Schema)))
        {
            await schema.ExecuteNonQueryAsync(cancellationToken);
        }

        var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await using (var columns = InTransaction(Command(connection, "SELECT name FROM pragma_table_info('images');")))
        await using (var reader = await columns.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                existing.Add(reader.GetString(0));
            }
        }

        foreach (var (column, type) in AddedColumns.Where(added => !existing.Contains(added.Column)))
        {
            await using var add = InTransaction(Command(connection, $"ALTER TABLE images ADD COLUMN {column} {type};"));
            await add.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var index = InTransaction(Command(connection, AddedIndexes)))
        {
            await index.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);

        DbCommand InTransaction(DbCommand command)
        {
            command.Transaction = transaction;
            return command;
        }
    }

    /// <summary>IMMEDIATE: the database's one write lock, taken before anything is read, so that nothing else is needed.</summary>
    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    protected override Task LockAsync(DbConnection connection, DbTransaction transaction, LockSpace space, string key, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>A negative LIMIT is none, in SQLite.</summary>
    protected override object NoLimit => -1L;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // FULL: a committed upload survives a power cut, not only a crash of the process.
        await using var synchronous = Command(connection, "PRAGMA synchronous = FULL;");
        await synchronous.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    protected override object IdValue(Guid id) => id.ToString();

    protected override Guid ReadId(DbDataReader row, int column) => Guid.Parse(row.GetString(column));
}
