/** Lease rows (`lifecycle_leases`): one per named activity, held by one node until it expires. */
import type { Kysely } from 'kysely';
import type { LeaseQueries } from '../lifecycle-store.js';
import type { Database } from '../tables.js';

export class SqlLeases implements LeaseQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async acquire(name: string, holder: string, expiresAt: number, now: number): Promise<boolean> {
    // One statement: a concurrent taker's insert or update waits for this one and then finds
    // the row held (its condition fails), so exactly one holder wins.
    await this.db
      .insertInto('lifecycle_leases')
      .values({ name, holder, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder, expires_at: expiresAt })
          .where((eb) => eb.or([eb('lifecycle_leases.expires_at', '<', now), eb('lifecycle_leases.holder', '=', holder)])),
      )
      .execute();
    return (await this.get(name))?.holder === holder;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('lifecycle_leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async get(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = await this.db.selectFrom('lifecycle_leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
    return row && { holder: row.holder, expiresAt: Number(row.expires_at) };
  }
}
