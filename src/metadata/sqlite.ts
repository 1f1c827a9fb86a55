/**
 * Opens the embedded SQLite metadata store. WAL lets readers run beside the writer;
 * `synchronous=FULL` makes every commit durable before it is acknowledged; a busy timeout lets
 * several processes on one host share the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { SqlMetadataStore } from './sql/store.js';
import type { Database } from './tables.js';

export function openSqlite(path: string): SqlMetadataStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return new SqlMetadataStore(db, 'sqlite');
}
