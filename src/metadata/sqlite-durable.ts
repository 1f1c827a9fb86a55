/**
 * Durable SQLite commits without blocking the event loop. better-sqlite3 is synchronous, so
 * with `synchronous=FULL` every commit's fsync of the WAL stalled the whole process (all
 * requests, all streams) for the length of a disk flush. Here SQLite runs with
 * `synchronous=NORMAL` (in WAL mode: commits append to the WAL without fsync; checkpoints
 * still sync) and this driver makes each write durable itself before the query's caller
 * continues: when a connection use that wrote is released, the WAL file is fdatasync'ed on
 * the thread pool. Concurrent writers share one fdatasync (group commit): a caller waits
 * until a sync that started after its own commit has completed.
 *
 * It also keeps SQLite's compiled statements across queries (see `prepare` below).
 *
 * The WAL file keeps its inode while this process is connected (SQLite removes it only when
 * the last connection closes), so one file handle on it serves for the process's lifetime.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDatabase } from 'kysely';

/** Compiled statements kept per database (queries are built from a small set of shapes). */
const STATEMENT_CACHE_SIZE = 500;

/** Group commit over one file: `sync()` resolves once every write noted before the call is on disk. */
export class WalSync {
  private noted = 0;
  private synced = 0;
  private running: Promise<void> | undefined;
  private fh: FileHandle | undefined;
  /** fdatasync calls made (for tests and diagnostics). */
  syncs = 0;

  constructor(private readonly walPath: string) {}

  /** Records that a write has been committed to the WAL (in the page cache). */
  noteWrite(): void {
    this.noted++;
  }

  async sync(): Promise<void> {
    const upTo = this.noted;
    while (this.synced < upTo) {
      this.running ??= this.run().finally(() => {
        this.running = undefined;
      });
      await this.running;
    }
  }

  private async run(): Promise<void> {
    // Only writes noted before the fdatasync starts are covered by it.
    const target = this.noted;
    if (!this.fh) {
      this.fh = await open(this.walPath, 'r');
      // The WAL's directory entry must be durable too (once, when the file is first used).
      const dir = await open(dirname(this.walPath), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
    await this.fh.datasync();
    this.syncs++;
    this.synced = Math.max(this.synced, target);
  }

  async close(): Promise<void> {
    await this.running?.catch(() => {});
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** Marks the current connection use as writing when a statement that can change the database is prepared. */
interface UseState {
  wrote: boolean;
}

/** Starts transactions with `BEGIN IMMEDIATE` (see sqlite.ts). */
export class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class DurableSqliteDriver extends ImmediateSqliteDriver {
  constructor(
    config: ConstructorParameters<typeof SqliteDriver>[0],
    private readonly use: UseState,
    private readonly wal: WalSync,
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    this.use.wrote = false;
    return connection;
  }

  override async releaseConnection(): Promise<void> {
    // The single connection is exclusive between acquire and release, so everything this
    // use wrote (autocommit statements, or a transaction now committed or rolled back) is
    // in the WAL by now. The connection is handed on before the fdatasync, so the next
    // writer can commit while this one waits for the disk.
    const wrote = this.use.wrote;
    this.use.wrote = false;
    if (wrote) this.wal.noteWrite();
    await super.releaseConnection();
    if (wrote) await this.wal.sync();
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    await this.wal.close();
  }
}

/** A Kysely dialect over `database` whose writes are durable when each query or transaction resolves. */
export function durableSqliteDialect(database: BetterSqlite3.Database): { dialect: SqliteDialect; wal: WalSync } {
  const use: UseState = { wrote: false };
  const wal = new WalSync(`${database.name}-wal`);
  // Kysely prepares every query anew; compiling the SQL again each time showed in profiles of
  // the request paths, so compiled statements are kept (bounded, oldest dropped first) and
  // reused unless one is still iterating (a streamed query).
  const statements = new Map<string, BetterSqlite3.Statement>();
  const tracked: SqliteDatabase = {
    close: () => database.close(),
    prepare: (sql: string) => {
      let statement = statements.get(sql);
      if (!statement || statement.busy) {
        statement = database.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      if (!statement.readonly) use.wrote = true;
      return statement;
    },
  };
  const config = { database: tracked };
  const dialect = new (class extends SqliteDialect {
    override createDriver(): Driver {
      return new DurableSqliteDriver(config, use, wal);
    }
  })(config);
  return { dialect, wal };
}
