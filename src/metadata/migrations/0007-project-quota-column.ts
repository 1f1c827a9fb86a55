/**
 * Drops `projects.quota_bytes`: nothing ever wrote it. A project's quota is its lifecycle
 * setting (`project_lifecycle.quota`, validated in src/lifecycle/settings.ts), the one the push
 * path enforces, and the API reports that one.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './index.js';

export function dropProjectQuotaColumn(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('projects').dropColumn('quota_bytes').execute();
    },
  };
}
