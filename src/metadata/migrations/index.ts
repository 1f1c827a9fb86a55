/**
 * The one migration set for both dialects. Each migration receives the dialect so the few
 * type names that differ (auto-increment keys, byte columns) are chosen in one place.
 * Migrations are append-only: never edit one that has shipped.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { auth } from './auth.js';
import { scale } from './0003-scale.js';
import { lifecycle } from './0004-lifecycle.js';
import { credentials } from './0005-credentials.js';
import { uploadOwners } from './0006-upload-owners.js';
import { dropProjectQuotaColumn } from './0007-project-quota-column.js';
import { scanning } from './0010-scanning.js';
import { signing } from './0011-signing.js';
import { proxyCache } from './0008-proxy-cache.js';
import { identity } from './0012-identity.js';
import { scanners } from './0013-scanners.js';
import { events } from './0009-events.js';

export type Dialect = 'sqlite' | 'postgres';

/** Dialect-specific column types. */
export function types(dialect: Dialect) {
  return {
    id: dialect === 'sqlite' ? sql`integer` : sql`bigserial`,
    bigint: sql`bigint`,
    bytes: dialect === 'sqlite' ? sql`blob` : sql`bytea`,
  };
}

function core(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('repositories')
        .addColumn('id', t.id, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('repositories_project').on('repositories').columns(['project', 'name']).execute();

      await db.schema
        .createTable('blobs')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('size', t.bigint, (c) => c.notNull())
        .addColumn('media_type', 'text')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('repository_blobs')
        .addColumn('repository_id', t.bigint, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

      await db.schema
        .createTable('manifests')
        .addColumn('id', t.id, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('repository_id', t.bigint, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject_digest', 'text')
        .addColumn('size', t.bigint, (c) => c.notNull())
        .addColumn('content', t.bytes, (c) => c.notNull())
        .addColumn('annotations', 'text')
        .addColumn('pushed_at', t.bigint, (c) => c.notNull())
        .addColumn('last_pulled_at', t.bigint)
        .addUniqueConstraint('manifests_repository_digest', ['repository_id', 'digest'])
        .execute();
      await db.schema.createIndex('manifests_subject').on('manifests').columns(['repository_id', 'subject_digest']).execute();
      await db.schema.createIndex('manifests_digest').on('manifests').column('digest').execute();

      await db.schema
        .createTable('manifest_blobs')
        .addColumn('manifest_id', t.bigint, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
        .addPrimaryKeyConstraint('manifest_blobs_pk', ['manifest_id', 'digest'])
        .execute();
      await db.schema.createIndex('manifest_blobs_digest').on('manifest_blobs').column('digest').execute();

      await db.schema
        .createTable('manifest_children')
        .addColumn('parent_id', t.bigint, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
        .addColumn('child_id', t.bigint, (c) => c.notNull().references('manifests.id'))
        .addPrimaryKeyConstraint('manifest_children_pk', ['parent_id', 'child_id'])
        .execute();
      await db.schema.createIndex('manifest_children_child').on('manifest_children').column('child_id').execute();

      await db.schema
        .createTable('tags')
        .addColumn('repository_id', t.bigint, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('manifest_id', t.bigint, (c) => c.notNull().references('manifests.id'))
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
        .execute();
      await db.schema.createIndex('tags_manifest').on('tags').column('manifest_id').execute();

      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('byte_offset', t.bigint, (c) => c.notNull())
        .addColumn('handle', 'text', (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('uploads_updated').on('uploads').column('updated_at').execute();
    },
  };
}

export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-core': core(dialect),
    '0002-auth': auth(dialect),
    '0003-scale': scale(dialect),
    '0004-lifecycle': lifecycle(dialect),
    '0005-credentials': credentials(dialect),
    '0006-upload-owners': uploadOwners(dialect),
    '0007-project-quota-column': dropProjectQuotaColumn(dialect),
    '0010-scanning': scanning(dialect),
    '0011-signing': signing(dialect),
    '0008-proxy-cache': proxyCache(dialect),
    '0012-identity': identity(dialect),
    '0009-events': events(dialect),
    '0013-scanners': scanners(dialect),
  };
}
