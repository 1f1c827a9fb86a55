/**
 * Setting rows: values every node must agree on, written once by whichever node comes first
 * (`getOrCreate`), or switches an operator flips (`put`, e.g. read-only mode).
 */
import type { Kysely } from 'kysely';
import type { SettingQueries } from '../store.js';
import type { Database } from '../tables.js';

export class SqlSettings implements SettingQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async getOrCreate(key: string, value: string): Promise<string> {
    // ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit, so the
    // read that follows sees the winner's value on both dialects.
    await this.db.insertInto('settings').values({ key, value, created_at: this.now() }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.get(key))!;
  }

  async put(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value, created_at: this.now() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async delete(key: string): Promise<boolean> {
    const r = await this.db.deleteFrom('settings').where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
