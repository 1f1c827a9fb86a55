/**
 * Events, webhooks and replication: the outbox (`events`, written in the transaction of each
 * change), the dispatcher's cursor over it (`event_cursors`), webhook subscriptions and their
 * delivery log, and replication targets, policies, runs and their per-artifact results.
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function events(dialect: Dialect): Migration {
  const t = types(dialect);
  const id = (c: any) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('events')
        .addColumn('id', t.id, id)
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('project', 'text')
        .addColumn('repository', 'text')
        .addColumn('actor', 'text')
        .addColumn('data', 'text', (c) => c.notNull()) // JSON
        .execute();
      await db.schema.createIndex('events_at').on('events').column('at').execute();

      await db.schema
        .createTable('event_cursors')
        .addColumn('consumer', 'text', (c) => c.primaryKey())
        .addColumn('position', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('webhooks')
        .addColumn('id', t.id, id)
        .addColumn('project', 'text') // null: system-wide
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull()) // JSON list of event names
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull()) // cloudevents | harbor
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('failed_deliveries', 'integer', (c) => c.notNull()) // consecutive deliveries given up
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_project').on('webhooks').column('project').execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', t.id, id)
        .addColumn('webhook_id', t.bigint, (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('event_id', t.bigint) // null for pings
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull()) // webhook-id: the same on every attempt
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull()) // pending | delivered | failed
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', t.bigint, (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('latency_ms', 'integer')
        .addColumn('response_excerpt', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_deliveries_queue').on('webhook_deliveries').columns(['webhook_id', 'status', 'id']).execute();

      await db.schema
        .createTable('replication_targets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('password', 'text')
        .addColumn('insecure', 'integer', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('replication_policies')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('target', 'text', (c) => c.notNull().references('replication_targets.name'))
        .addColumn('direction', 'text', (c) => c.notNull()) // push | pull
        .addColumn('repositories', 'text', (c) => c.notNull()) // JSON patterns
        .addColumn('tags', 'text', (c) => c.notNull()) // JSON patterns
        .addColumn('trigger', 'text', (c) => c.notNull()) // event | manual | cron
        .addColumn('schedule', 'text')
        .addColumn('options', 'text', (c) => c.notNull()) // JSON: platforms, referrers, deletes, limits
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('replication_runs')
        .addColumn('id', t.id, id)
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('scope', 'text') // JSON: the one artifact of an event-triggered run
        .addColumn('status', 'text', (c) => c.notNull()) // queued | running | succeeded | failed | cancelled
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('summary', 'text') // JSON
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('replication_runs_policy').on('replication_runs').columns(['policy', 'id']).execute();

      await db.schema
        .createTable('replication_items')
        .addColumn('id', t.id, id)
        .addColumn('run_id', t.bigint, (c) => c.notNull().references('replication_runs.id').onDelete('cascade'))
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('digest', 'text')
        .addColumn('status', 'text', (c) => c.notNull()) // copied | skipped | failed | deleted
        .addColumn('bytes', t.bigint, (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('replication_items_run').on('replication_items').columns(['run_id', 'id']).execute();
    },
  };
}
