/**
 * Enterprise identity: trust policies (a project trusts an OIDC issuer's CI ID tokens, with
 * required claims, for some repository actions) and external identities (a user created by
 * OIDC or LDAP sign-in, and the project roles its groups granted at the last sign-in, so the
 * next sign-in can remove the roles the groups no longer give).
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function identity(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('trust_policies')
        .addColumn('id', t.id, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('project', 'text', (c) => c.notNull().references('projects.name').onDelete('cascade'))
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('audience', 'text', (c) => c.notNull())
        .addColumn('claims', 'text', (c) => c.notNull())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trust_policies_issuer').on('trust_policies').column('issuer').execute();
      await db.schema.createIndex('trust_policies_project').on('trust_policies').column('project').execute();

      await db.schema
        .createTable('external_identities')
        .addColumn('user_id', t.bigint, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('granted', 'text', (c) => c.notNull())
        .addColumn('synced_at', t.bigint, (c) => c.notNull())
        .addUniqueConstraint('external_identities_subject', ['provider', 'subject'])
        .execute();
    },
  };
}
