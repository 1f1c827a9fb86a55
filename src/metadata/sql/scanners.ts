/**
 * The external scanners' table (migration 0013-scanners) over Kysely, both dialects.
 */
import type { Kysely } from 'kysely';
import type { ScannerQueries, ScannerRecord } from '../scan-store.js';
import type { Database } from '../tables.js';

export class SqlScanners implements ScannerQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<ScannerRecord[]> {
    const rows = await this.db.selectFrom('scanners').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, url: r.url, registryUrl: r.registry_url, authorizationSealed: r.authorization_sealed, isDefault: Number(r.is_default) === 1, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }));
  }

  async put(s: Omit<ScannerRecord, 'createdAt' | 'updatedAt'>, now: number): Promise<void> {
    if (s.isDefault) await this.db.updateTable('scanners').set({ is_default: 0 }).where('name', '!=', s.name).execute();
    const row = { url: s.url, registry_url: s.registryUrl, authorization_sealed: s.authorizationSealed, is_default: s.isDefault ? 1 : 0, updated_at: now };
    await this.db
      .insertInto('scanners')
      .values({ name: s.name, ...row, created_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet(row))
      .execute();
  }

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('scanners').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
