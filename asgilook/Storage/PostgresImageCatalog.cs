using System.Data.Common;
using Npgsql;

namespace Asgilook.Storage;

/// <summary>
/// The catalog in PostgreSQL, for several instances on several machines (chosen when
/// <c>Asgilook:Database</c> / <c>ASGI_LOOK_DATABASE</c> holds a connection string). Same queries and
/// behaviour as <see cref="SqliteImageCatalog"/>, proven by the same tests.
/// </summary>
public sealed class PostgresImageCatalog(string connectionString) : SqlImageCatalog, IAsyncDisposable
{
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
        """ + MetaSchema + BlocklistSchema;

    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(WithTimeouts(connectionString));

    public override string Description { get; } = Describe(new NpgsqlConnectionStringBuilder(connectionString));

    /// <summary>
    /// Npgsql waits 15 s to connect and 30 s for a command by default, and after a timeout it also asks
    /// the server to cancel the query and waits for that. A request should learn within seconds that the
    /// database is away (it is then answered 503), and the catalog's queries are single-row writes and
    /// index scans: 3 s to connect, 3 s per network read of a command (measured against a frozen
    /// PostgreSQL: a command on a pooled connection fails after 9 s, a new connection after 3 s), no
    /// cancellation round trip to a server that is not answering. Timeouts the connection string sets are kept.
    /// </summary>
    public static string WithTimeouts(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("Timeout"))
        {
            settings.Timeout = 3;
        }

        if (!given.ContainsKey("Command Timeout") && !given.ContainsKey("CommandTimeout"))
        {
            settings.CommandTimeout = 3;
        }

        if (!given.ContainsKey("Cancellation Timeout") && !given.ContainsKey("CancellationTimeout"))
        {
            settings.CancellationTimeout = -1;
        }

        return settings.ConnectionString;
    }

    public override async Task MigrateAsync(CancellationToken cancellationToken)
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

        foreach (var (column, type) in AddedColumns)
        {
            await using var add = new NpgsqlCommand($"ALTER TABLE images ADD COLUMN IF NOT EXISTS {column} {type};", connection, transaction);
            await add.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var index = new NpgsqlCommand(AddedIndexes, connection, transaction))
        {
            await index.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(cancellationToken);

    /// <summary>An advisory lock on the key's hash in its space, held to the transaction's end: other keys and contents go on.</summary>
    protected override async Task LockAsync(DbConnection connection, DbTransaction transaction, LockSpace space, string key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@space, hashtext(@key));", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue("space", (int)space);
        command.Parameters.AddWithValue("key", key);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private static string Describe(NpgsqlConnectionStringBuilder settings) =>
        $"PostgreSQL at {settings.Host}:{settings.Port}, database {settings.Database ?? settings.Username}";

    /// <summary>LIMIT NULL is none, in PostgreSQL.</summary>
    protected override object NoLimit => DBNull.Value;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _source.OpenConnectionAsync(cancellationToken);

    protected override object IdValue(Guid id) => id;

    protected override Guid ReadId(DbDataReader row, int column) => row.GetGuid(column);
}
