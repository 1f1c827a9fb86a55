/**
 * Opens real metadata stores for tests (SQLite in a temp folder, PostgreSQL in a database
 * of its own) with a row count over every table, so a test can prove it left nothing behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { parseConfig } from '../../src/config/load.js';
import { openPostgres, type PostgresConfig } from '../../src/metadata/postgres.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import type { Kysely } from 'kysely';
import type { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { Database } from '../../src/metadata/tables.js';
import { createTestDatabase } from './postgres.js';

export interface StoreHarness {
  store: SqlMetadataStore;
  /** Where the database is, for another process: the SQLite file or the PostgreSQL URL. */
  location: { driver: 'sqlite' | 'postgres'; where: string };
  /** Opens another store over the same database (another process or node would). */
  another(): Promise<SqlMetadataStore>;
  /** Rows in each table (migration bookkeeping excluded). */
  rowCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const TABLES = [
  'events',
  'event_cursors',
  'webhooks',
  'webhook_deliveries',
  'replication_targets',
  'replication_policies',
  'replication_runs',
  'replication_items',
  'repositories',
  'blobs',
  'repository_blobs',
  'manifests',
  'manifest_blobs',
  'manifest_children',
  'tags',
  'uploads',
  'settings',
  'jobs',
  'changes',
  'gc_reviews',
  'blob_deletions',
  'gc_runs',
  'lifecycle_leases',
  'project_lifecycle',
  'retention_runs',
  'trash',
  'users',
  'projects',
  'project_members',
  'robots',
  'access_tokens',
  'sessions',
  'signing_keys',
  'audit_events',
  'login_failures',
  'vuln_advisories',
  'vuln_affected',
  'vuln_aliases',
  'scan_results',
  'scan_findings',
  'security_policies',
  'scanning_state',
  'scanners',
  'project_signing',
  'project_signing_keys',
  'proxy_manifests',
  'proxy_preheats',
  'proxy_upstreams',
  'trust_policies',
  'external_identities',
];

/**
 * The query builder under a SQL metadata store, for white-box tests that set up or inspect
 * rows no interface method reaches (ages, raw graph state). Contract suites never use it.
 */
export function sqlOf(meta: MetadataStore): Kysely<Database> {
  return (meta as SqlMetadataStore).db;
}

async function rowCounts(store: SqlMetadataStore): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(store.db);
    out[t] = Number(r.rows[0]!.n);
  }
  return out;
}

function harness(location: StoreHarness['location'], store: SqlMetadataStore, another: () => Promise<SqlMetadataStore>, cleanup: () => Promise<void>): StoreHarness {
  const others: SqlMetadataStore[] = [];
  return {
    store,
    location,
    async another() {
      const s = await another();
      others.push(s);
      return s;
    },
    rowCounts: () => rowCounts(store),
    async close() {
      for (const s of others) await s.close();
      await store.close();
      await cleanup();
    },
  };
}

export async function sqliteHarness(): Promise<StoreHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-meta-'));
  const open = async () => {
    const s = openSqlite(join(dir, 'berth.db'));
    await s.migrate();
    return s;
  };
  return harness({ driver: 'sqlite', where: join(dir, 'berth.db') }, await open(), open, () => rm(dir, { recursive: true, force: true }));
}

export function postgresConfig(url: string): PostgresConfig {
  const config = parseConfig({ metadata: { driver: 'postgres', postgres: { url, poolSize: 5 } } });
  if (config.metadata.driver !== 'postgres') throw new Error('unreachable');
  return config.metadata.postgres;
}

export async function postgresHarness(): Promise<StoreHarness> {
  const database = await createTestDatabase();
  const open = async () => {
    const s = openPostgres(postgresConfig(database.url));
    await s.migrate();
    return s;
  };
  try {
    return harness({ driver: 'postgres', where: database.url }, await open(), open, () => database.drop());
  } catch (e) {
    await database.drop();
    throw e;
  }
}
