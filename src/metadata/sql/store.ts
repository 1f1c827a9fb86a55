/**
 * The MetadataStore over Kysely: one implementation for both SQL dialects. Query groups are
 * built over whatever executor they get, so inside `transaction` the same code runs on the
 * transaction's connection.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migrations, type Dialect } from '../migrations/index.js';
import type { MetadataQueries, MetadataStore } from '../store.js';
import type { Database } from '../tables.js';
import { SqlBlobs } from './blobs.js';
import { SqlManifests } from './manifests.js';
import { SqlRepositories } from './repositories.js';
import { SqlTags } from './tags.js';
import { SqlUploads } from './uploads.js';

class SqlQueries implements MetadataQueries {
  readonly repositories: SqlRepositories;
  readonly blobs: SqlBlobs;
  readonly uploads: SqlUploads;
  readonly manifests: SqlManifests;
  readonly tags: SqlTags;

  constructor(readonly executor: Kysely<Database>) {
    const db = executor;
    this.repositories = new SqlRepositories(db);
    this.blobs = new SqlBlobs(db);
    this.uploads = new SqlUploads(db);
    this.manifests = new SqlManifests(db);
    this.tags = new SqlTags(db);
  }
}

export class SqlMetadataStore extends SqlQueries implements MetadataStore {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    /** Runs the migrator under a lock so nodes starting together do not race. */
    private readonly withMigrationLock: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ) {
    super(db);
  }

  transaction<T>(fn: (tx: MetadataQueries) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(new SqlQueries(trx)));
  }

  async migrate(): Promise<void> {
    const all = migrations(this.dialect);
    const provider: MigrationProvider = { getMigrations: async (): Promise<Record<string, Migration>> => all };
    const migrator = new Migrator({ db: this.db, provider, migrationTableName: 'berth_migrations', migrationLockTableName: 'berth_migrations_lock' });
    const result = await this.withMigrationLock(() => migrator.migrateToLatest());
    if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
