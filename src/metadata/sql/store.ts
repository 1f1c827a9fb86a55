/**
 * The MetadataStore over Kysely: one implementation for both SQL dialects. Query groups are
 * built over whatever executor they get, so inside `transaction` the same code runs on the
 * transaction's connection.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migrations, type Dialect } from '../migrations/index.js';
import type { MetadataQueries, MetadataStore } from '../store.js';
import type { Database } from '../tables.js';
import { SqlBlobs } from './blobs.js';
import { SqlManifests } from './manifests.js';
import { SqlRepositories } from './repositories.js';
import { SqlJobs } from './jobs.js';
import { SqlSettings } from './settings.js';
import { SqlTags } from './tags.js';
import { SqlUploads } from './uploads.js';
import { retryAborted } from './retry.js';

class SqlQueries implements MetadataQueries {
  readonly repositories: SqlRepositories;
  readonly blobs: SqlBlobs;
  readonly uploads: SqlUploads;
  readonly manifests: SqlManifests;
  readonly tags: SqlTags;
  readonly settings: SqlSettings;
  readonly jobs: SqlJobs;

  constructor(readonly executor: Kysely<Database>, dialect: Dialect) {
    const db = executor;
    this.repositories = new SqlRepositories(db);
    this.blobs = new SqlBlobs(db, dialect);
    this.uploads = new SqlUploads(db);
    this.manifests = new SqlManifests(db);
    this.tags = new SqlTags(db);
    this.settings = new SqlSettings(db);
    this.jobs = new SqlJobs(db, dialect);
  }
}

export class SqlMetadataStore extends SqlQueries implements MetadataStore {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    /** Runs the migrator under a lock so nodes starting together do not race. */
    private readonly withMigrationLock: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ) {
    super(db, dialect);
  }

  async transaction<T>(fn: (tx: MetadataQueries) => Promise<T>): Promise<T> {
    if (this.dialect === 'sqlite') {
      // BEGIN IMMEDIATE (see sqlite.ts): one writer at a time, so serializable as it stands.
      return this.db.transaction().execute((trx) => fn(new SqlQueries(trx, this.dialect)));
    }
    // PostgreSQL: SERIALIZABLE keeps the checks a service makes inside the transaction true
    // at commit; a transaction the server aborts to keep that promise is simply run again.
    return retryAborted(() =>
      this.db
        .transaction()
        .setIsolationLevel('serializable')
        .execute((trx) => fn(new SqlQueries(trx, this.dialect))),
    );
  }

  async migrate(): Promise<void> {
    const all = migrations(this.dialect);
    const provider: MigrationProvider = { getMigrations: async (): Promise<Record<string, Migration>> => all };
    const migrator = new Migrator({ db: this.db, provider, migrationTableName: 'berth_migrations', migrationLockTableName: 'berth_migrations_lock' });
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
