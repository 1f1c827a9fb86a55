/**
 * Scale-out tables: `settings` (values every node must agree on, such as signing keys,
 * created once and read by all), `jobs` (the durable queue any node may work on) and
 * `changes` (a short log of changed repositories that processes sharing one SQLite file
 * read to invalidate their caches; PostgreSQL uses LISTEN/NOTIFY instead). On PostgreSQL,
 * the listed names also get the byte-order ("C") collation.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function scale(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      if (dialect === 'postgres') {
        // Names sort in byte order (as OCI clients page through them, and as SQLite sorts),
        // not in the collation of the database's language; the indexes follow the columns.
        for (const [table, column] of [['repositories', 'name'], ['tags', 'name'], ['manifests', 'digest']] as const) {
          await db.schema.alterTable(table).alterColumn(column, (c) => c.setDataType(sql`text collate "C"`)).execute();
        }
      }

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', t.id, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('run_at', t.bigint, (c) => c.notNull())
        .addColumn('locked_by', 'text')
        .addColumn('locked_until', t.bigint)
        .addColumn('last_error', 'text')
        .addColumn('dedupe_key', 'text')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('changes')
        .addColumn('id', t.id, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      // The write lease of an upload: one request at a time, on whichever node, writes its
      // bytes (see UploadService.exclusive).
      await db.schema.alterTable('uploads').addColumn('writer', 'text').execute();
      await db.schema.alterTable('uploads').addColumn('writer_until', t.bigint).execute();

      // Claiming scans queued jobs by due time and running jobs by lease expiry.
      await db.schema.createIndex('jobs_status_run_at').on('jobs').columns(['status', 'run_at']).execute();
      // At most one pending (queued or running) job per dedupe key, e.g. one sweep at a time.
      await db.schema
        .createIndex('jobs_dedupe_key')
        .on('jobs')
        .column('dedupe_key')
        .unique()
        .where(sql.ref('status'), 'in', [sql.lit('queued'), sql.lit('running')])
        .execute();
      await db.schema.createIndex('jobs_status_locked_until').on('jobs').columns(['status', 'locked_until']).execute();
    },
  };
}
