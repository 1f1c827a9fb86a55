/**
 * Leases: a row per named activity (`gc`, `retention:<project>`) that one node holds until it
 * expires, so scheduled runs are serialized across every node sharing the database. A holder
 * renews while it works; a crashed holder's lease simply runs out.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { MetadataQueries } from '../metadata/store.js';

export class Leases {
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly store: Pick<MetadataQueries, 'leases'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the lease if it is free, expired or already ours. */
  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    return this.store.leases.acquire(name, this.holder, now + ttlMs, now);
  }

  async release(name: string): Promise<void> {
    await this.store.leases.release(name, this.holder);
  }

  /** When someone holds the lease: who and until when. */
  async holderOf(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = await this.store.leases.get(name);
    return row && row.expiresAt > this.now() ? row : undefined;
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
