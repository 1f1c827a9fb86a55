/**
 * Lifecycle tables: the garbage-collection review queue and byte-deletion fence, run history,
 * the lease that serializes scheduled runs across nodes, and per-project lifecycle settings
 * (retention, immutability, quota) keyed by project NAME so they do not depend on any other
 * feature's project table. The retention trash keeps removed tags restorable.
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function lifecycle(dialect: Dialect): Migration {
  const t = types(dialect);
  const id = (c: any) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey());
  return {
    async up(db: Kysely<any>) {
      // One row per object found unreferenced; reviewed (re-checked) once `not_before` passed.
      await db.schema
        .createTable('gc_reviews')
        .addColumn('kind', 'text', (c) => c.notNull()) // manifest | link | blob | orphan (bytes without a blob row)
        .addColumn('repository_id', t.bigint, (c) => c.notNull()) // 0 for blobs
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('queued_at', t.bigint, (c) => c.notNull())
        .addColumn('not_before', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('gc_reviews_pk', ['kind', 'repository_id', 'digest'])
        .execute();
      await db.schema.createIndex('gc_reviews_due').on('gc_reviews').columns(['kind', 'queued_at']).execute();

      // The byte-deletion fence: bumped (pending) in the transaction that gives up a blob's
      // bytes, cleared once the bytes are gone. Upload commits compare versions around the
      // moment they place bytes (see src/lifecycle/gc.ts).
      await db.schema
        .createTable('blob_deletions')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('version', t.bigint, (c) => c.notNull())
        .addColumn('pending', 'integer', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('gc_runs')
        .addColumn('id', t.id, id)
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('dry_run', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull()) // running | succeeded | failed
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('progress', 'text') // JSON
        .addColumn('result', 'text') // JSON
        .addColumn('error', 'text')
        .execute();

      await db.schema
        .createTable('lifecycle_leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('project_lifecycle')
        .addColumn('project', 'text', (c) => c.primaryKey())
        .addColumn('retention', 'text') // JSON policy or null
        .addColumn('immutability', 'text') // JSON rules or null
        .addColumn('quota', 'text') // JSON quota or null
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('retention_runs')
        .addColumn('id', t.id, id)
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('dry_run', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('retention_runs_project').on('retention_runs').columns(['project', 'id']).execute();

      await db.schema
        .createTable('trash')
        .addColumn('id', t.id, id)
        .addColumn('run_id', t.bigint, (c) => c.notNull())
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('tag', 'text') // null: an untagged manifest
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('removed_at', t.bigint, (c) => c.notNull())
        .addColumn('expires_at', t.bigint, (c) => c.notNull())
        .addColumn('restored_at', t.bigint)
        .execute();
      await db.schema.createIndex('trash_manifest').on('trash').columns(['repository', 'digest']).execute();
      await db.schema.createIndex('trash_run').on('trash').column('run_id').execute();
    },
  };
}
