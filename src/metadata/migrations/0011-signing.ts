/**
 * Signatures (issue 16): each project's signing policy (trusted keys and certificates,
 * enforcement, sign on push) as one JSON row, and the project's own signing keys. A private
 * key is stored only sealed (src/auth/key-sealing.ts); a rotated key keeps its row (retired)
 * so its public half still verifies the signatures it made.
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function signing(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('project_signing')
        .addColumn('project', 'text', (c) => c.primaryKey())
        .addColumn('policy', 'text', (c) => c.notNull()) // JSON, validated in src/signing/policy.ts
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('project_signing_keys')
        .addColumn('id', t.id, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('private_key', 'text', (c) => c.notNull()) // sealed:v1:...
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('retired_at', t.bigint)
        .execute();
      await db.schema.createIndex('project_signing_keys_project').on('project_signing_keys').columns(['project', 'id']).execute();
    },
  };
}
