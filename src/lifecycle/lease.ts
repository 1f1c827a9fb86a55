/**
 * Leases: a row per named activity (`gc`, `retention:<project>`) that one node holds until it
 * expires, so scheduled runs are serialized across every node sharing the database. A holder
 * renews while it works; a crashed holder's lease simply runs out.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../metadata/tables.js';

export class Leases {
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the lease if it is free, expired or already ours. */
  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    await this.db
      .insertInto('lifecycle_leases')
      .values({ name, holder: this.holder, expires_at: now + ttlMs })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder: this.holder, expires_at: now + ttlMs })
          .where((eb) => eb.or([eb('lifecycle_leases.expires_at', '<', now), eb('lifecycle_leases.holder', '=', this.holder)])),
      )
      .execute();
    const row = await this.db.selectFrom('lifecycle_leases').select('holder').where('name', '=', name).executeTakeFirst();
    return row?.holder === this.holder;
  }

  async release(name: string): Promise<void> {
    await this.db.deleteFrom('lifecycle_leases').where('name', '=', name).where('holder', '=', this.holder).execute();
  }

  /** When someone holds the lease: who and until when. */
  async holderOf(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = await this.db.selectFrom('lifecycle_leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
    return row && Number(row.expires_at) > this.now() ? { holder: row.holder, expiresAt: Number(row.expires_at) } : undefined;
  }

  /** Runs `fn` holding the lease (renewed every ttl/3); undefined when another holder has it. */
  async with<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (!(await this.acquire(name, ttlMs))) return undefined;
    const timer = setInterval(() => void this.acquire(name, ttlMs).catch(() => {}), Math.max(1000, ttlMs / 3));
    timer.unref();
    try {
      return { value: await fn() };
    } finally {
      clearInterval(timer);
      await this.release(name).catch(() => {});
    }
  }
}
