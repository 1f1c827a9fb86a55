/**
 * The status of the last finished scan kept while a new one is pending or running (so the
 * pull gate keeps judging what was found, not "unscanned"), and external scanners: adapters of Harbor's Pluggable Scanner API that an admin registers
 * (their URL, an optional Authorization header sealed like other stored secrets, and the URL
 * the adapter reaches this registry at). At most one is the default: while one is, scans go
 * to it instead of the built-in scanner. Its results land in scan_results like any other.
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function scanners(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('scanners')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('registry_url', 'text', (c) => c.notNull())
        .addColumn('authorization_sealed', 'text')
        .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.alterTable('scan_results').addColumn('previous_status', 'text').execute();
    },
  };
}
