/**
 * Health of the registry. `check` is what the version check (`GET /v2/`) reports: the registry
 * can serve only while its metadata database answers, so it asks it (one trivial query) and a
 * load balancer sees a 503 during an outage instead of a 200 that every following request
 * contradicts. `readiness` is `GET /readyz`'s fuller answer: the metadata database answers, every
 * migration this version knows is applied, and the blob store answers (a `stat` of a digest no
 * one stores: the cheapest call every backend makes to its storage). Each part has a deadline,
 * so an unreachable host (a dropped packet, not a refused connection) is reported in time for a
 * probe, not after the client library's own retries.
 */
import { databaseUnavailable } from '../errors/oci.js';
import type { Digest } from '../domain/names.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';

/** A digest no blob has (the SHA-256 of nothing is never pushed as a layer by real clients, and a miss is all the probe needs). */
const PROBE = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' as Digest;

export interface Readiness {
  ready: boolean;
  /** `ok`, or what failed, per part. */
  checks: { metadata: string; migrations: string; storage: string };
}

export interface HealthOptions {
  /** Deadline of each readiness part. */
  timeoutMs: number;
  /** Told the database's answer time (metrics). */
  observePing?: (seconds: number) => void;
}

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function describe(e: unknown): string {
  const err = e as { message?: string; code?: string; name?: string };
  return (err.message || err.code || err.name || String(e)).split('\n')[0]!.slice(0, 300);
}

export class HealthService {
  constructor(
    private readonly meta: Pick<MetadataStore, 'ping' | 'pendingMigrations'>,
    private readonly blobs?: Pick<BlobStore, 'stat'>,
    private readonly opts: HealthOptions = { timeoutMs: 3000 },
  ) {}

  /** Resolves when the registry can serve; throws the 503 OciError otherwise. */
  async check(): Promise<void> {
    try {
      await this.meta.ping();
    } catch {
      throw databaseUnavailable();
    }
  }

  /** Every part checked at once; `ready` only when all are `ok`. Never throws. */
  async readiness(): Promise<Readiness> {
    const t = this.opts.timeoutMs;
    const part = (p: Promise<unknown>) => p.then(() => 'ok', describe);
    const [metadata, migrations, storage] = await Promise.all([
      part(
        (async () => {
          const start = process.hrtime.bigint();
          await within(t, 'the metadata database', this.meta.ping());
          this.opts.observePing?.(Number(process.hrtime.bigint() - start) / 1e9);
        })(),
      ),
      part(
        within(t, 'the metadata database', this.meta.pendingMigrations()).then((pending) => {
          if (pending.length > 0) throw new Error(`migrations not applied: ${pending.join(', ')}`);
        }),
      ),
      this.blobs ? part(within(t, 'the blob store', this.blobs.stat(PROBE))) : Promise.resolve('ok'),
    ]);
    return { ready: metadata === 'ok' && migrations === 'ok' && storage === 'ok', checks: { metadata, migrations, storage } };
  }
}
