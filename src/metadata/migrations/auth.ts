/**
 * Migration 0002-auth: accounts, projects, memberships, robots, personal access tokens, UI
 * sessions, token signing keys and the audit log. Secrets are never stored: passwords as
 * argon2 hashes, random tokens and robot secrets as SHA-256 (they carry 256 bits of entropy).
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function auth(dialect: Dialect): Migration {
  const t = types(dialect);
  const pk = (c: any) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', t.id, pk)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('projects')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('quota_bytes', t.bigint)
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('project_members')
        .addColumn('project', 'text', (c) => c.notNull().references('projects.name').onDelete('cascade'))
        .addColumn('user_id', t.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('project_members_pk', ['project', 'user_id'])
        .execute();
      await db.schema.createIndex('project_members_user').on('project_members').column('user_id').execute();

      await db.schema
        .createTable('robots')
        .addColumn('id', t.id, pk)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('project', 'text', (c) => c.notNull().references('projects.name').onDelete('cascade'))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.bigint)
        .addColumn('last_used_at', t.bigint)
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('robots_project').on('robots').columns(['project', 'name']).execute();

      await db.schema
        .createTable('access_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', t.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.bigint)
        .addColumn('last_used_at', t.bigint)
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_tokens_user').on('access_tokens').column('user_id').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', t.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.bigint, (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('retired_at', t.bigint)
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', t.id, pk)
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('project', 'text')
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('source_address', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
      await db.schema.createIndex('audit_events_project').on('audit_events').columns(['project', 'id']).execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'id']).execute();
    },
  };
}
