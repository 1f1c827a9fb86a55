/**
 * Opens the PostgreSQL metadata store shared by many nodes: a `pg` pool behind Kysely, int8
 * columns read as JavaScript numbers (times in ms and sizes stay below 2^53), an optional
 * schema on the search path, TLS, and migrations serialised across nodes by a session
 * advisory lock held on a connection of its own.
 */
import { readFileSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/schema.js';
import { SqlMetadataStore } from './sql/store.js';
import type { Database } from './tables.js';

export type PostgresConfig = Extract<Config['metadata'], { driver: 'postgres' }>['postgres'];

/** Arbitrary constant naming Berth's migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 0x62657274; // "bert"
const INT8 = 20;

/** Parses int8 as a number and leaves every other type to pg's defaults. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Connection settings shared by the pool, the migration lock and the change listener. */
export function clientConfig(cfg: PostgresConfig): pg.ClientConfig {
  const options: string[] = [];
  if (cfg.schema) options.push(`-c search_path=${cfg.schema}`);
  return {
    connectionString: cfg.url,
    types,
    ...(options.length > 0 ? { options: options.join(' ') } : {}),
    ...(cfg.statementTimeoutMs > 0 ? { statement_timeout: cfg.statementTimeoutMs } : {}),
    ...(cfg.ssl.enabled
      ? {
          ssl: {
            rejectUnauthorized: cfg.ssl.rejectUnauthorized,
            ...(cfg.ssl.ca ? { ca: readFileSync(cfg.ssl.ca, 'utf8') } : {}),
            ...(cfg.ssl.cert ? { cert: readFileSync(cfg.ssl.cert, 'utf8') } : {}),
            ...(cfg.ssl.key ? { key: readFileSync(cfg.ssl.key, 'utf8') } : {}),
          },
        }
      : {}),
  };
}

export function openPostgres(cfg: PostgresConfig): SqlMetadataStore {
  const pool = new pg.Pool({ ...clientConfig(cfg), max: cfg.poolSize });
  // An idle client losing its server (restart, failover) must not crash the process; the
  // pool drops it and the next query opens a new connection.
  pool.on('error', () => {});
  // A connection that drops while its client is checked out or between pool hand-offs emits
  // 'error' on the client itself; without a listener that is an uncaught exception that ends
  // the process. The query in flight still fails with the error through its own promise.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new SqlMetadataStore(db, 'postgres', async (fn) => {
    const lock = new pg.Client(clientConfig({ ...cfg, schema: undefined }));
    await lock.connect();
    try {
      await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      if (cfg.schema) await lock.query(`create schema if not exists "${cfg.schema}"`);
      return await fn();
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      await lock.end();
    }
  }, pool);
}
