/**
 * Upload sessions learn whose they are: the project (so a project's open uploads count
 * against its quota with one indexed query) and the owner (the principal that started the
 * session, so open sessions can be capped per principal as well as per repository).
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './index.js';

export function uploadOwners(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('uploads').addColumn('project', 'text').execute();
      await db.schema.alterTable('uploads').addColumn('owner', 'text').execute();
      // Sessions open before this migration: their project is the repository's first segment.
      for (const row of await db.selectFrom('uploads').select(['id', 'repository']).execute()) {
        const repo = String(row.repository);
        await db.updateTable('uploads').set({ project: repo.includes('/') ? repo.slice(0, repo.indexOf('/')) : repo }).where('id', '=', row.id).execute();
      }
      await db.schema.createIndex('uploads_project').on('uploads').column('project').execute();
      await db.schema.createIndex('uploads_repository').on('uploads').column('repository').execute();
      await db.schema.createIndex('uploads_owner').on('uploads').column('owner').execute();
    },
  };
}
