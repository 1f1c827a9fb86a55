/**
 * Opens the embedded SQLite metadata store. WAL lets readers run beside the writer; every
 * write is durable before the query that made it resolves: through the WAL group commit of
 * sqlite-durable.ts (fdatasync off the event loop, `synchronous=NORMAL`), or, where the file
 * is not in WAL mode, through SQLite's own `synchronous=FULL`. A busy timeout lets several
 * processes on one host share the file.
 *
 * Transactions start with `BEGIN IMMEDIATE`: Kysely's driver issues a deferred `BEGIN`, which
 * takes the write lock only at the first write; two processes that both read and then try to
 * write deadlock, and SQLite answers one of them SQLITE_BUSY at once, without waiting out
 * the busy timeout. Taking the write lock up front makes writers queue instead.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type Driver, type SqliteDialectConfig } from 'kysely';
import { SqlMetadataStore } from './sql/store.js';
import { durableSqliteDialect, ImmediateSqliteDriver } from './sqlite-durable.js';
import type { Database } from './tables.js';

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

export function openSqlite(path: string): SqlMetadataStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  const wal = path !== ':memory:' && database.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  database.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 10000');
  const dialect = wal ? durableSqliteDialect(database).dialect : new ImmediateSqliteDialect({ database });
  const db = new Kysely<Database>({ dialect });
  return new SqlMetadataStore(db, 'sqlite');
}
