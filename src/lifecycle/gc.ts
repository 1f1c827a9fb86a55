/**
 * Online garbage collection: reclaims manifests, repository -> blob links, blobs and stored
 * bytes that nothing references, while pushes and pulls continue. No read-only mode.
 *
 * How it stays safe (the design GitLab's registry uses with its metadata database):
 *
 * 1. Mark (gc-mark.ts) queues objects nothing references right now in `gc_reviews`, with a
 *    "queued at" and a "not before" time (queued at + grace period). Roots are tags, index ->
 *    child edges, subject -> referrer edges (a referrer lives while its subject lives; with
 *    `orphanReferrers: delete` it goes with its subject), unexpired trash entries, links from
 *    repositories (a pushed or mounted blob), and anything pushed within the grace period.
 * 2. Sweep (gc-sweep.ts) takes due rows in batches. In ONE write transaction per batch it
 *    locks each object, re-checks that nothing references it, deletes the rows, and for blobs
 *    raises the digest's byte-deletion fence (`blob_deletions`: version + 1, pending). A push
 *    that referenced the object first makes the re-check fail (its transaction took the row
 *    lock first / committed first); a push that comes later finds no row and writes anew.
 * 3. Only after that transaction committed are the bytes deleted (batched, in parallel), and
 *    then the fence's `pending` flag is cleared.
 *
 * The race this closes: a push whose bytes already exist in storage skips writing them
 * (FsBlobStore.commitUpload sees the file) and then inserts the blob row. If GC removed the
 * row just before and deletes the bytes just after, the new row would point at nothing. The
 * upload commit (src/registry/uploads.ts) therefore reads the fence version (waiting while a
 * deletion is pending) BEFORE placing its bytes, and its metadata transaction refuses to
 * record the blob when the version moved or a deletion is pending. Either GC's transaction
 * ran first — the upload sees the new version and fails cleanly (the client pushes again) —
 * or the upload's ran first — GC's re-check sees the new link and keeps the blob. "First" is
 * made true by a lock on the digest's fence row: the upload's transaction reads the fence
 * under a share lock (creating the row if needed), and GC locks the fence rows of a batch
 * before re-checking it, so on PostgreSQL the re-check waits for an upload transaction in
 * flight and then sees its row, and an upload whose snapshot predates a raised fence is
 * aborted by PostgreSQL and run again (it then sees the new version). Orphaned
 * bytes (no row: a crash between bytes and metadata, a refused push) go through the same
 * fence. A crash between steps 2 and 3 leaves `pending` set; the next run finishes the job.
 *
 * A dry run executes exactly the same code inside one transaction that is rolled back, with
 * byte deletes skipped, so `--dry-run` reports precisely what a real run at that moment would
 * remove.
 */
import type { Kysely } from 'kysely';
import type { LifecycleConfig } from '../config/schema.js';
import type { Database } from '../metadata/tables.js';
import type { Digest } from '../registry/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import { expireUploads, finishPendingDeletions, scanStorage } from './gc-storage.js';
import { markBlobs, markLinks, markManifests, markReleased, newReleased, type Released } from './gc-mark.js';
import { countDue, sweepBlobs, sweepLinks, sweepManifests, sweepOrphans } from './gc-sweep.js';
import type { LifecycleSettings } from './settings.js';
import { parallel, writeTransaction, type Dialect } from './tx.js';

export interface GcPolicy {
  deleteUntagged(project: string): boolean;
  orphanReferrers: 'delete' | 'keep';
}

export type RemovedKind = 'manifest' | 'link' | 'blob' | 'orphan' | 'upload';

export interface RemovedItem {
  repository: string;
  digest: string;
  size: number;
}

export interface GcProgress {
  phase: 'mark' | 'sweep' | 'storage' | 'done';
  done: number;
  total: number;
}

export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  startedAt: string;
  finishedAt: string;
  rounds: number;
  /** Counts and bytes per kind. Link bytes are 0 (a link holds no bytes). */
  totals: Record<RemovedKind, { count: number; bytes: number }>;
  /** Bytes freed in the blob store (blobs + orphans + uploads). */
  bytesFreed: number;
  /** The removed objects (at most `itemLimit` per kind). */
  items: Record<RemovedKind, RemovedItem[]>;
  /** Wall-clock time spent marking, sweeping (metadata + bytes) and on storage (uploads, scan). */
  timings: { markMs: number; sweepMs: number; storageMs: number };
}

export interface GcRunOptions {
  dryRun?: boolean;
  /** Overrides lifecycle.gc.graceSeconds for this run. */
  graceMs?: number;
  onProgress?: (p: GcProgress) => void;
  /** How many removed items per kind the report lists. */
  itemLimit?: number;
}

/** What the mark and sweep functions get: the run's clock, grace and transaction runners. */
export interface GcContext {
  now: number;
  graceMs: number;
  batchSize: number;
  policy: GcPolicy;
  dryRun: boolean;
  uploadMaxAgeMs: number;
  read<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  write<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** What this round's sweep released, for the next round's targeted mark. */
  released: Released;
  dialect: Dialect;
  /** Adds FOR UPDATE on PostgreSQL. */
  lock<Q extends { forUpdate(): Q }>(q: Q): Q;
  removed(kind: RemovedKind, item: RemovedItem): void;
  /** A repository's manifests changed (read caches must drop it); a no-op in a dry run. */
  changed(repo: string): Promise<void>;
  advance(n: number): void;
  /** Deletes bytes whose fence was raised, then clears the fence (no-op in a dry run). */
  deleteBytes(digests: Digest[]): Promise<void>;
  stat(digest: Digest): Promise<number | undefined>;
  blobs: BlobStore;
}

class Rollback extends Error {}

function emptyTally(): Pick<GcReport, 'rounds' | 'totals' | 'bytesFreed' | 'items'> {
  return {
    rounds: 0,
    totals: { manifest: { count: 0, bytes: 0 }, link: { count: 0, bytes: 0 }, blob: { count: 0, bytes: 0 }, orphan: { count: 0, bytes: 0 }, upload: { count: 0, bytes: 0 } },
    bytesFreed: 0,
    items: { manifest: [], link: [], blob: [], orphan: [], upload: [] },
  };
}

export class GarbageCollector {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly blobs: BlobStore,
    private readonly settings: LifecycleSettings,
    private readonly config: LifecycleConfig['gc'],
    private readonly uploadMaxAgeMs: number,
    private readonly onChange: (repo: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  async run(opts: GcRunOptions = {}): Promise<GcReport> {
    const dryRun = opts.dryRun ?? false;
    const graceMs = opts.graceMs ?? this.config.graceSeconds * 1000;
    const started = this.now();
    const itemLimit = opts.itemLimit ?? 1000;
    const report: GcReport = {
      dryRun,
      graceSeconds: graceMs / 1000,
      startedAt: new Date(started).toISOString(),
      finishedAt: '',
      ...emptyTally(),
      timings: { markMs: 0, sweepMs: 0, storageMs: 0 },
    };
    const timed = async (key: keyof GcReport['timings'], fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      try {
        await fn();
      } finally {
        report.timings[key] += performance.now() - t0;
      }
    };
    const policy = await this.policy();
    let done = 0;
    let total = 0;
    const progress = (phase: GcProgress['phase']) => opts.onProgress?.({ phase, done, total });
    const base = {
      now: started,
      graceMs,
      batchSize: this.config.batchSize,
      policy,
      dryRun,
      uploadMaxAgeMs: this.uploadMaxAgeMs,
      blobs: this.blobs,
      released: newReleased(),
      dialect: this.dialect,
      lock: <Q extends { forUpdate(): Q }>(q: Q): Q => (this.dialect === 'postgres' ? q.forUpdate() : q),
      removed: (kind: RemovedKind, item: RemovedItem) => {
        const t = report.totals[kind];
        t.count++;
        t.bytes += item.size;
        if (kind === 'blob' || kind === 'orphan' || kind === 'upload') report.bytesFreed += item.size;
        if (report.items[kind].length < itemLimit) report.items[kind].push(item);
      },
      advance: (n: number) => {
        done += n;
        progress('sweep');
      },
      stat: (d: Digest) => this.blobs.stat(d),
    };

    const body = async (ctx: GcContext) => {
      // A dry run is one transaction, run again from the start if PostgreSQL aborts it.
      Object.assign(report, emptyTally());
      ctx.released = newReleased();
      if (!dryRun) await finishPendingDeletions(ctx);
      for (let round = 0; round < 50; round++) {
        report.rounds = round + 1;
        progress('mark');
        let due = 0;
        await timed('markMs', async () => {
          await ctx.write((db) => markManifests(db, policy, ctx.now, graceMs));
          if (round === 0) {
            await ctx.write((db) => markLinks(db, ctx.now, graceMs));
            await ctx.write((db) => markBlobs(db, ctx.now, graceMs));
          } else {
            const released = ctx.released;
            ctx.released = newReleased();
            await ctx.write((db) => markReleased(db, ctx.now, graceMs, released));
          }
          due = await ctx.read((db) => countDue(db, ctx));
        });
        if (due === 0) break;
        total += due;
        progress('sweep');
        // Manifests first: their deletion releases links and blobs, which the next round marks.
        let released = 0;
        await timed('sweepMs', async () => {
          released += await sweepManifests(ctx);
          released += await sweepLinks(ctx);
          await sweepBlobs(ctx);
          await sweepOrphans(ctx);
        });
        // Deleting blobs releases nothing else: without manifest or link deletions this round,
        // another mark would find nothing new.
        if (released === 0) break;
      }
      progress('storage');
      await timed('storageMs', async () => {
        await expireUploads(ctx);
        if (this.config.scanStorage) {
          await scanStorage(ctx);
          await sweepOrphans(ctx);
        }
      });
    };

    if (dryRun) {
      try {
        await writeTransaction(this.db, this.dialect, async (trx) => {
          const run = <T>(fn: (db: Kysely<Database>) => Promise<T>) => fn(trx);
          await body({ ...base, read: run, write: run, deleteBytes: async () => {}, changed: async () => {} });
          throw new Rollback();
        });
      } catch (e) {
        if (!(e instanceof Rollback)) throw e;
      }
    } else {
      await body({
        ...base,
        read: (fn) => fn(this.db),
        write: (fn) => writeTransaction(this.db, this.dialect, fn),
        deleteBytes: (digests) => this.deleteBytes(digests),
        changed: (repo) => this.onChange(repo),
      });
      await this.db.deleteFrom('blob_deletions').where('pending', '=', 0).where('updated_at', '<', started - 3_600_000).execute();
    }
    report.finishedAt = new Date(this.now()).toISOString();
    progress('done');
    return report;
  }

  /** Deletes bytes (fence already raised and committed), then lowers the fence. */
  private async deleteBytes(digests: Digest[]): Promise<void> {
    if (digests.length === 0) return;
    await parallel(digests, this.config.deleteConcurrency, (d) => this.blobs.delete(d));
    await this.db.updateTable('blob_deletions').set({ pending: 0, updated_at: this.now() }).where('digest', 'in', digests).execute();
  }

  private async policy(): Promise<GcPolicy> {
    const overrides = new Map<string, boolean>();
    for (const { project, policy } of await this.settings.retentionPolicies(this.db)) {
      if (policy.untagged === 'keep') overrides.set(project, false);
      // 'remove': untagged manifests go through the trash; GC reclaims them once it expires.
      if (policy.untagged === 'remove') overrides.set(project, false);
    }
    const def = this.config.deleteUntagged;
    return { deleteUntagged: (p) => overrides.get(p) ?? def, orphanReferrers: this.config.orphanReferrers };
  }
}
