/**
 * `proxy_manifests`: manifests a pull-through cache fetched from an upstream, by the reference
 * they were asked for (a tag, or a digest). They live beside the registry's own `manifests`
 * because a cached image is partial by design (an index without the children nobody pulled,
 * an image whose layers are fetched on demand), and the registry's manifest rows promise that
 * every reference exists. Cached blobs are ordinary blob rows linked to the proxy repository.
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function proxyCache(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('proxy_manifests')
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('upstream', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('content', t.bytes, (c) => c.notNull())
        .addColumn('fetched_at', t.bigint, (c) => c.notNull())
        .addColumn('checked_at', t.bigint, (c) => c.notNull())
        .addColumn('pulled_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('proxy_manifests_pk', ['repository', 'reference'])
        .execute();
      await db.schema.createIndex('proxy_manifests_upstream').on('proxy_manifests').columns(['upstream', 'pulled_at']).execute();
      await db.schema
        .createTable('proxy_preheats')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('upstream', 'text', (c) => c.notNull())
        .addColumn('refs', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('done', t.bigint, (c) => c.notNull())
        .addColumn('failed', t.bigint, (c) => c.notNull())
        .addColumn('blobs', t.bigint, (c) => c.notNull())
        .addColumn('bytes', t.bigint, (c) => c.notNull())
        .addColumn('errors', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('proxy_upstreams')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('password_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();
    },
  };
}
