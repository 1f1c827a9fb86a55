/**
 * Durable SQLite commits without blocking the event loop. better-sqlite3 is synchronous, so
 * with `synchronous=FULL` every commit's fsync of the WAL stalled the whole process (all
 * requests, all streams) for the length of a disk flush. Here SQLite runs with
 * `synchronous=NORMAL` (in WAL mode: commits append to the WAL without fsync; checkpoints
 * still sync) and this driver makes each write durable itself before the query's caller
 * continues: when a connection use that wrote is released, the WAL file is fdatasync'ed on
 * the thread pool. Concurrent writers share one fdatasync (group commit): a caller waits
 * until a sync that started after its own commit has completed. The writes of one turn of
 * the event loop share the COMMIT itself too (sqlite-shared-commit.ts).
 *
 * Checkpoints run on a thread of their own (sqlite-checkpointer.ts).
 *
 * Reads outside transactions run on the writing connection while it is free (its page cache
 * is current), and otherwise on a second, read-only connection to the same file, so a registry
 * busy with pushes (transactions hold the writing connection across awaits) still answers its
 * reads at once; WAL readers see every committed write. It also keeps SQLite's compiled
 * statements across queries, per connection (`statementCache`).
 *
 * The WAL file keeps its inode while this process is connected (SQLite removes it only when
 * the last connection closes), so one file handle on it serves for the process's lifetime.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import SQLiteDatabase from 'better-sqlite3';
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type QueryResult, type SqliteDatabase } from 'kysely';
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.js';
import { isUnacknowledged } from './sql/durability.js';
import { SyncGroup } from '../storage/fs/sync-group.js';
import { SharedCommits, type SharedTransaction } from './sqlite-shared-commit.js';

/** Compiled statements kept per database (queries are built from a small set of shapes). */
const STATEMENT_CACHE_SIZE = 500;

/** The WAL's group commit: `sync()` resolves once every write noted before the call is on disk. */
export class WalSync {
  private fh: FileHandle | undefined;
  private readonly group = new SyncGroup(async () => {
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
  });

  constructor(private readonly walPath: string) {}

  /** fdatasync calls made (for tests and diagnostics). */
  get syncs(): number {
    return this.group.syncs;
  }

  /** Records that a write has been committed to the WAL (in the page cache). */
  noteWrite(): void {
    this.group.note();
  }

  sync(): Promise<void> {
    return this.group.sync();
  }

  /** The sync under way, if one is (settles when it ends, whatever its outcome). */
  underWay(): Promise<void> | undefined {
    return this.group.flushing ? this.group.idle() : undefined;
  }

  async close(): Promise<void> {
    await this.group.idle();
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** Starts transactions with `BEGIN IMMEDIATE` (see sqlite.ts). */
export class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** One waiter at a time on the writing connection (transactions span awaits). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  /** Holders and waiters: 0 when nothing holds the lock nor waits for it. */
  private users = 0;

  /** Whether the lock is free, with nobody waiting for it. */
  get idle(): boolean {
    return this.users === 0;
  }

  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = before.then(() => next);
    this.users++;
    let released = false;
    const unlock = () => {
      if (released) return;
      released = true;
      this.users--;
      release();
    };
    await before;
    return unlock;
  }

  /** Runs `work` holding the lock. */
  async hold(work: () => Promise<void>): Promise<void> {
    const unlock = await this.lock();
    try {
      await work();
    } finally {
      unlock();
    }
  }
}

/** Compiled statements of one connection, bounded, reused unless one is still iterating. */
function statementCache(database: BetterSqlite3.Database): (sql: string) => BetterSqlite3.Statement {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement || statement.busy) {
      statement = database.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
    }
    return statement;
  };
}

/** Statements whose effect is exactly the rows they report (changes, or rows returned). */
const ROW_STATEMENT = /^\s*(insert|update|delete)\s/i;

function run(statement: BetterSqlite3.Statement, parameters: readonly unknown[]): QueryResult<unknown> {
  if (statement.reader) return { rows: statement.all(parameters) };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/**
 * A use of the store: a transaction, or one query outside any. Reads outside a transaction go
 * to a connection at once; everything else takes the writing connection's lock (a transaction
 * from its BEGIN to its release, so no other statement lands inside it) and joins the shared
 * transaction (sqlite-shared-commit.ts).
 */
class RoutedConnection implements DatabaseConnection {
  /** Set while this use holds the writing connection (from BEGIN, or for one lone write). */
  unlock: (() => void) | undefined;
  /** The shared transaction this use's writes are in. */
  shared: SharedTransaction | undefined;
  /** Whether this use changed something acknowledged (it waits for the WAL's sync after the COMMIT). */
  wrote = false;

  constructor(private readonly driver: DurableSqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { reader } = this.driver;
    if (this.unlock) return this.onWriter<R>(query);
    // A read while the writing connection is free (no transaction open, nobody waiting) runs
    // there, synchronously, so nothing can begin on it meanwhile. That connection's page cache
    // is current; the read connection's is dropped by SQLite whenever another connection has
    // written since its last read, so every read there after a write reloads its pages (a
    // point lookup cost 40-50 µs instead of 5-10 under pushes).
    if (this.driver.writerIdle()) {
      const statement = this.driver.writer(query.sql);
      if (statement.readonly) return run(statement, query.parameters) as QueryResult<R>;
    }
    if (reader) {
      const statement = reader(query.sql);
      if (statement.readonly) return run(statement, query.parameters) as QueryResult<R>;
    }
    // A lone write: a statement of the shared transaction, done when release returns.
    this.unlock = await this.driver.mutex.lock();
    this.shared = await this.driver.commits.join();
    return this.onWriter<R>(query);
  }

  private onWriter<R>(query: CompiledQuery): QueryResult<R> {
    const statement = this.driver.writer(query.sql);
    let result: QueryResult<unknown>;
    try {
      result = run(statement, query.parameters);
    } catch (e) {
      if (this.shared) this.driver.commits.afterFailure(this.shared, e);
      throw e;
    }
    // A row statement that changed no row (a claim finding nothing due, a release of a lease
    // whose row is gone) leaves nothing to sync, nor does a write marked unacknowledged
    // (sql/durability.ts); anything else that is not read-only might.
    if (statement.readonly || isUnacknowledged(query.sql)) return result as QueryResult<R>;
    if (!(ROW_STATEMENT.test(query.sql) && (statement.reader ? result.rows.length === 0 : result.numAffectedRows === 0n))) this.wrote = true;
    return result as QueryResult<R>;
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Iterating keeps its connection busy across awaits: on the writing connection, under its
    // lock; outside a transaction, after the shared one has committed (it sees only committed rows).
    const own = !this.unlock;
    if (own) {
      this.unlock = await this.driver.mutex.lock();
      this.driver.commits.commitNow();
    }
    try {
      const statement = this.driver.writer(query.sql);
      if (!statement.reader) throw new Error('SQLite streams only queries that return rows');
      for (const row of statement.iterate(query.parameters)) yield { rows: [row as R] };
    } finally {
      if (own) {
        const unlock = this.unlock;
        this.unlock = undefined;
        unlock?.();
      }
    }
  }
}

/**
 * The durable driver: one writing connection (under a lock; writes share transactions,
 * sqlite-shared-commit.ts) and one read-only connection for reads outside transactions while
 * the writing one is taken, which therefore never wait behind a transaction (WAL readers see
 * every committed write). A use that wrote acknowledged changes is synced (the WAL group
 * commit) after the COMMIT that holds them, so the next writers commit while it waits for the disk.
 */
class DurableSqliteDriver implements Driver {
  readonly reader: ((sql: string) => BetterSqlite3.Statement) | undefined;

  constructor(
    private readonly database: BetterSqlite3.Database,
    readonly writer: (sql: string) => BetterSqlite3.Statement,
    private readonly readDatabase: BetterSqlite3.Database | undefined,
    private readonly wal: WalSync,
    readonly mutex: Mutex,
    readonly commits: SharedCommits,
    private readonly checkpointer?: Checkpointer,
  ) {
    this.reader = readDatabase && statementCache(readDatabase);
  }

  async init(): Promise<void> {}

  /** Whether the writing connection is free: nobody holds or awaits it, and no transaction is open on it. */
  writerIdle(): boolean {
    return this.mutex.idle && !this.database.inTransaction;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RoutedConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as RoutedConnection;
    c.unlock = await this.mutex.lock();
    c.shared = await this.commits.join();
    // Statements prepared once and kept (exec would parse them on every transaction).
    this.writer('savepoint caller').run();
  }

  async commitTransaction(): Promise<void> {
    this.writer('release caller').run();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as RoutedConnection;
    c.wrote = false;
    if (this.database.inTransaction) {
      this.writer('rollback to caller').run();
      this.writer('release caller').run();
    } else if (c.shared) this.commits.afterFailure(c.shared, new Error('SQLite rolled the shared transaction back'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as RoutedConnection;
    const { unlock, shared, wrote } = c;
    c.unlock = undefined;
    c.shared = undefined;
    c.wrote = false;
    // Whatever ran in the shared transaction saw its uncommitted rows (an insert that found a
    // row of another caller there changed nothing), so every caller in it waits for the COMMIT.
    // Registered before the connection is given up, so the COMMIT cannot come first.
    const committed = shared && this.commits.committed(shared, wrote);
    unlock?.();
    if (!committed) return;
    await committed;
    if (wrote) await this.wal.sync();
  }

  async destroy(): Promise<void> {
    await this.mutex.hold(async () => this.commits.commitNow());
    await this.checkpointer?.stop();
    this.readDatabase?.close();
    this.database.close();
    await this.wal.close();
  }
}

/**
 * A Kysely dialect over `database` whose writes are durable when each query or transaction
 * resolves, with a read-only connection to the same file for reads outside transactions.
 */
export function durableSqliteDialect(database: BetterSqlite3.Database): { dialect: SqliteDialect; wal: WalSync; commits: SharedCommits } {
  const wal = new WalSync(`${database.name}-wal`);
  const readDatabase = new SQLiteDatabase(database.name, { readonly: true, fileMustExist: true });
  readDatabase.pragma('busy_timeout = 10000');
  const mutex = new Mutex();
  // The shared transaction waits for another connection's write lock itself, without sleeping on the event loop.
  database.pragma('busy_timeout = 0');
  const writer = statementCache(database);
  const commits = new SharedCommits(database, writer, mutex, () => wal.noteWrite(), () => wal.underWay());
  // A checkpoint's fence starts after the shared transaction has committed (its frames can then be checkpointed).
  const checkpointer = startCheckpointer(database, (work) =>
    mutex.hold(async () => {
      commits.commitNow();
      await work();
    }),
  );
  const dialect = new (class extends SqliteDialect {
    override createDriver(): Driver {
      return new DurableSqliteDriver(database, writer, readDatabase, wal, mutex, commits, checkpointer);
    }
  })({ database: database as unknown as SqliteDatabase });
  return { dialect, wal, commits };
}
