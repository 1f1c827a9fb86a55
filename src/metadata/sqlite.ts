/**
 * Opens the embedded SQLite metadata store. WAL lets readers run beside the writer;
 * `synchronous=FULL` makes every commit durable before it is acknowledged; a busy timeout lets
 * several processes on one host share the file.
 *
 * Transactions start with `BEGIN IMMEDIATE`: Kysely's driver issues a deferred `BEGIN`, which
 * takes the write lock only at the first write; two processes that both read and then try to
 * write deadlock, and SQLite answers one of them SQLITE_BUSY at once, without waiting out
 * the busy timeout. Taking the write lock up front makes writers queue instead.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import { SqlMetadataStore } from './sql/store.js';
import type { Database } from './tables.js';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

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
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
  return new SqlMetadataStore(db, 'sqlite');
}
