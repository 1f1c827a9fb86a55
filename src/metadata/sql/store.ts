/**
 * The MetadataStore over Kysely: one implementation for both SQL dialects. Query groups are
 * built over whatever connection they get, so inside `transaction` the same code runs on the
 * transaction's connection. The transaction mechanics for each isolation (see `Isolation` in
 * ../store.ts) live here and nowhere else.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migrations, type Dialect } from '../migrations/index.js';
import type { MetadataQueries, MetadataStore, TransactionOptions } from '../store.js';
import type { Database } from '../tables.js';
import { isBusy } from '../sqlite-busy.js';
import { SqlBlobs } from './blobs.js';
import { SqlFences } from './fences.js';
import { SqlGc } from './gc.js';
import { SqlGcRuns } from './gc-runs.js';
import { SqlGcSweep } from './gc-sweep.js';
import { SqlLeases } from './leases.js';
import { SqlLifecycleSettings } from './lifecycle-settings.js';
import { SqlRetention } from './retention.js';
import { SqlTrash } from './trash.js';
import { SqlUsage } from './usage.js';
import { SqlSigning } from './signing.js';
import { SqlManifests } from './manifests.js';
import { SqlRepositories } from './repositories.js';
import { SqlJobs } from './jobs.js';
import { SqlSettings } from './settings.js';
import { SqlTags } from './tags.js';
import { SqlUploads } from './uploads.js';
import { SqlScrub } from './scrub.js';
import { retryAborted } from './retry.js';
import { SqlEvents } from './events.js';
import { SqlWebhooks } from './webhooks.js';
import { SqlReplication } from './replication.js';
import { SqlScans } from './scans.js';

/** The query groups over one connection (the pool, or a transaction's). */
export class SqlQueries implements MetadataQueries {
  readonly repositories: SqlRepositories;
  readonly blobs: SqlBlobs;
  readonly uploads: SqlUploads;
  readonly manifests: SqlManifests;
  readonly tags: SqlTags;
  readonly settings: SqlSettings;
  readonly jobs: SqlJobs;
  readonly gc: SqlGc;
  readonly gcSweep: SqlGcSweep;
  readonly fences: SqlFences;
  readonly gcRuns: SqlGcRuns;
  readonly leases: SqlLeases;
  readonly lifecycleSettings: SqlLifecycleSettings;
  readonly retention: SqlRetention;
  readonly trash: SqlTrash;
  readonly usage: SqlUsage;
  readonly signing: SqlSigning;
  readonly scans: SqlScans;
  readonly events: SqlEvents;
  readonly webhooks: SqlWebhooks;
  readonly replication: SqlReplication;
  readonly scrub: SqlScrub;

  /** `db`: for this store's own modules and white-box tests; not part of the interface. */
  constructor(readonly db: Kysely<Database>, dialect: Dialect) {
    this.repositories = new SqlRepositories(db, dialect);
    this.blobs = new SqlBlobs(db, dialect);
    this.uploads = new SqlUploads(db, dialect);
    this.manifests = new SqlManifests(db, dialect);
    this.tags = new SqlTags(db, dialect);
    this.settings = new SqlSettings(db);
    this.jobs = new SqlJobs(db, dialect);
    this.gc = new SqlGc(db);
    this.gcSweep = new SqlGcSweep(db, dialect);
    this.fences = new SqlFences(db, dialect);
    this.gcRuns = new SqlGcRuns(db);
    this.leases = new SqlLeases(db);
    this.lifecycleSettings = new SqlLifecycleSettings(db, dialect);
    this.retention = new SqlRetention(db, dialect);
    this.trash = new SqlTrash(db);
    this.usage = new SqlUsage(db);
    this.signing = new SqlSigning(db, dialect);
    this.events = new SqlEvents(db, dialect);
    this.webhooks = new SqlWebhooks(db);
    this.replication = new SqlReplication(db, dialect);
    this.scrub = new SqlScrub(db);
    this.scans = new SqlScans(db, dialect);
  }
}

/** Times a read-committed SQLite transaction is tried again after SQLITE_BUSY. */
const SQLITE_BUSY_RETRIES = 5;

/**
 * The one transaction mechanism of every store over this database (MetadataStore, AuthStore):
 * runs `body` on a transaction's connection with the isolation named by the caller.
 * - serializable: SQLite BEGIN IMMEDIATE (one writer at a time, so serializable as it stands);
 *   PostgreSQL SERIALIZABLE, which keeps the checks made inside true at commit, and a
 *   transaction the server aborts to keep that promise is simply run again.
 * - read-committed: PostgreSQL's default isolation (the methods used lock what they re-check),
 *   run again when aborted as a deadlock victim; SQLite BEGIN IMMEDIATE as well, tried again
 *   when another process held the lock too long.
 * `body` may run more than once: it keeps its effects inside the database.
 */
export async function transact<T>(db: Kysely<Database>, dialect: Dialect, options: TransactionOptions, body: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (options.isolation === 'serializable') {
    if (dialect === 'sqlite') return db.transaction().execute(body);
    return retryAborted(() => db.transaction().setIsolationLevel('serializable').execute(body));
  }
  if (dialect === 'postgres') return retryAborted(() => db.transaction().execute(body));
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(body);
    } catch (e) {
      if (isBusy(e) && attempt < SQLITE_BUSY_RETRIES) continue;
      throw e;
    }
  }
}

export class SqlMetadataStore extends SqlQueries implements MetadataStore {
  constructor(
    db: Kysely<Database>,
    readonly dialect: Dialect,
    /** Runs the migrator under a lock so nodes starting together do not race. */
    private readonly withMigrationLock: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
    private readonly pool?: { totalCount: number; idleCount: number; waitingCount: number; options: { max?: number } },
  ) {
    super(db, dialect);
  }

  /** The connection pool's use (metrics), or undefined without a pool (SQLite). */
  connections(): { open: number; idle: number; waiting: number; max: number } | undefined {
    const p = this.pool;
    return p && { open: p.totalCount, idle: p.idleCount, waiting: p.waitingCount, max: p.options.max ?? 0 };
  }

  transaction<T>(fn: (tx: MetadataQueries) => Promise<T>, options: TransactionOptions = { isolation: 'serializable' }): Promise<T> {
    return transact(this.db, this.dialect, options, (trx) => fn(new SqlQueries(trx, this.dialect)));
  }

  private migrator(): Migrator {
    const all = migrations(this.dialect);
    const provider: MigrationProvider = { getMigrations: async (): Promise<Record<string, Migration>> => all };
    return new Migrator({ db: this.db, provider, migrationTableName: 'berth_migrations', migrationLockTableName: 'berth_migrations_lock' });
  }

  async pendingMigrations(): Promise<string[]> {
    return (await this.migrator().getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
  }

  async migrate(): Promise<void> {
    const migrator = this.migrator();
    const result = await this.withMigrationLock(() => migrator.migrateToLatest());
    if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
