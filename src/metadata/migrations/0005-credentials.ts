/**
 * Credentials that hold across processes and restarts: when an account's credentials last
 * changed (password set, account disabled), so tokens issued before then are refused by
 * every node, and the failed-login counters that every node shares.
 */
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import { types, type Dialect } from './index.js';

export function credentials(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('credentials_changed_at', t.bigint, (c) => c.notNull().defaultTo(0)).execute();
      await db.updateTable('users').set({ credentials_changed_at: sql`created_at` }).execute();
      // One row per throttled key (account + address, address, account); the window resets
      // when `reset_at` has passed.
      await db.schema
        .createTable('login_failures')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', t.bigint, (c) => c.notNull())
        .addColumn('reset_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_failures_reset').on('login_failures').column('reset_at').execute();
    },
  };
}
