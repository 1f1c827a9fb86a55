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
 *
 * Every query, lock and fence write is a method of the metadata store (src/metadata/gc-store.ts,
 * with its contract suite); this module and its gc-* neighbours decide what to ask and in
 * which order. Write transactions are `read-committed` (see `Isolation` in
 * src/metadata/store.ts): the store's lock methods make each re-check hold until commit.
 */
import type { LifecycleConfig } from '../config/schema.js';
import type { MetadataQueries, MetadataStore } from '../metadata/store.js';
import type { Digest } from '../domain/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import { parallel } from './batches.js';
import { expireUploads, finishPendingDeletions, scanStorage } from './gc-storage.js';
import { markManifests, markReleased, newReleased, type Released } from './gc-mark.js';
import { countDue, sweepBlobs, sweepLinks, sweepManifests, sweepOrphans } from './gc-sweep.js';
import type { LifecycleSettings } from './settings.js';

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
  /** Reads outside a transaction (in a dry run: inside its one transaction). */
  read<T>(fn: (q: MetadataQueries) => Promise<T>): Promise<T>;
  /** One read-committed write transaction (in a dry run: the run's one transaction). */
  write<T>(fn: (q: MetadataQueries) => Promise<T>): Promise<T>;
  /** What this round's sweep released, for the next round's targeted mark. */
  released: Released;
  removed(kind: RemovedKind, item: RemovedItem): void;
  /** A repository's manifests changed (read caches must drop it); a no-op in a dry run. */
  changed(repo: string): Promise<void>;
  advance(n: number): void;
  /** Deletes bytes whose fence was raised, then clears the fence (no-op in a dry run). */
  deleteBytes(digests: Digest[]): Promise<void>;
  stat(digest: Digest): Promise<number | undefined>;
  blobs: BlobStore;
}

/** The context without its transaction runners (they differ between a dry and a real run). */
type BaseContext = Omit<GcContext, 'read' | 'write' | 'deleteBytes' | 'changed'>;

class Rollback extends Error {}

/** Most mark-and-sweep rounds in one run (each round marks what the previous one released). */
const MAX_ROUNDS = 50;

function emptyTally(): Pick<GcReport, 'rounds' | 'totals' | 'bytesFreed' | 'items'> {
  return {
    rounds: 0,
    totals: { manifest: { count: 0, bytes: 0 }, link: { count: 0, bytes: 0 }, blob: { count: 0, bytes: 0 }, orphan: { count: 0, bytes: 0 }, upload: { count: 0, bytes: 0 } },
    bytesFreed: 0,
    items: { manifest: [], link: [], blob: [], orphan: [], upload: [] },
  };
}

/** A run's report as it fills, with its progress counter and phase timings. */
class RunTally {
  readonly report: GcReport;
  private done = 0;
  private total = 0;

  constructor(
    dryRun: boolean,
    graceMs: number,
    started: number,
    private readonly itemLimit: number,
    private readonly onProgress: ((p: GcProgress) => void) | undefined,
  ) {
    this.report = { dryRun, graceSeconds: graceMs / 1000, startedAt: new Date(started).toISOString(), finishedAt: '', ...emptyTally(), timings: { markMs: 0, sweepMs: 0, storageMs: 0 } };
  }

  /** Forgets what was counted (a dry run's transaction is run again from the start). */
  reset(): void {
    Object.assign(this.report, emptyTally());
  }

  progress(phase: GcProgress['phase']): void {
    this.onProgress?.({ phase, done: this.done, total: this.total });
  }

  due(n: number): void {
    this.total += n;
  }

  advance(n: number): void {
    this.done += n;
    this.progress('sweep');
  }

  removed(kind: RemovedKind, item: RemovedItem): void {
    const t = this.report.totals[kind];
    t.count++;
    t.bytes += item.size;
    if (kind === 'blob' || kind === 'orphan' || kind === 'upload') this.report.bytesFreed += item.size;
    if (this.report.items[kind].length < this.itemLimit) this.report.items[kind].push(item);
  }

  async timed(key: keyof GcReport['timings'], fn: () => Promise<unknown>): Promise<void> {
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      this.report.timings[key] += performance.now() - t0;
    }
  }
}

export class GarbageCollector {
  constructor(
    private readonly meta: MetadataStore,
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
    const tally = new RunTally(dryRun, graceMs, started, opts.itemLimit ?? 1000, opts.onProgress);
    const base: BaseContext = {
      now: started,
      graceMs,
      batchSize: this.config.batchSize,
      policy: await this.policy(),
      dryRun,
      uploadMaxAgeMs: this.uploadMaxAgeMs,
      blobs: this.blobs,
      released: newReleased(),
      removed: (kind, item) => tally.removed(kind, item),
      advance: (n) => tally.advance(n),
      stat: (d) => this.blobs.stat(d),
    };
    if (dryRun) await this.dryRun(base, tally);
    else await this.realRun(base, tally, started);
    tally.report.finishedAt = new Date(this.now()).toISOString();
    tally.progress('done');
    return tally.report;
  }

  /** The whole run in one read-committed transaction that is rolled back; bytes stay. */
  private async dryRun(base: BaseContext, tally: RunTally): Promise<void> {
    try {
      await this.meta.transaction(
        async (tx) => {
          const run = <T>(fn: (q: MetadataQueries) => Promise<T>) => fn(tx);
          await this.collect({ ...base, read: run, write: run, deleteBytes: async () => {}, changed: async () => {} }, tally);
          throw new Rollback();
        },
        { isolation: 'read-committed' },
      );
    } catch (e) {
      if (!(e instanceof Rollback)) throw e;
    }
  }

  /** Each batch in a read-committed transaction of its own, bytes deleted after each commit. */
  private async realRun(base: BaseContext, tally: RunTally, started: number): Promise<void> {
    await this.collect(
      {
        ...base,
        read: (fn) => fn(this.meta),
        write: (fn) => this.meta.transaction(fn, { isolation: 'read-committed' }),
        deleteBytes: (digests) => this.deleteBytes(digests),
        changed: (repo) => this.onChange(repo),
      },
      tally,
    );
    await this.meta.fences.prune(started - 3_600_000);
  }

  /** Pending byte deletes, then mark-and-sweep rounds, then the storage phase. */
  private async collect(ctx: GcContext, tally: RunTally): Promise<void> {
    // A dry run is one transaction, run again from the start if PostgreSQL aborts it.
    tally.reset();
    ctx.released = newReleased();
    if (!ctx.dryRun) await finishPendingDeletions(ctx);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      tally.report.rounds = round + 1;
      if (!(await this.round(ctx, tally, round))) break;
    }
    tally.progress('storage');
    await tally.timed('storageMs', async () => {
      await expireUploads(ctx);
      if (this.config.scanStorage) {
        await scanStorage(ctx);
        await sweepOrphans(ctx);
      }
    });
  }

  /** One mark and sweep; false when another round would find nothing new. */
  private async round(ctx: GcContext, tally: RunTally, round: number): Promise<boolean> {
    tally.progress('mark');
    let due = 0;
    await tally.timed('markMs', async () => {
      await this.mark(ctx, round);
      due = await ctx.read((q) => countDue(q, ctx));
    });
    if (due === 0) return false;
    tally.due(due);
    tally.progress('sweep');
    // Manifests first: their deletion releases links and blobs, which the next round marks.
    let released = 0;
    await tally.timed('sweepMs', async () => {
      released += await sweepManifests(ctx);
      released += await sweepLinks(ctx);
      await sweepBlobs(ctx);
      await sweepOrphans(ctx);
    });
    // Deleting blobs releases nothing else: without manifest or link deletions this round,
    // another mark would find nothing new.
    return released > 0;
  }

  /** The first round marks everything; later ones only what the previous sweep released. */
  private async mark(ctx: GcContext, round: number): Promise<void> {
    await ctx.write((q) => markManifests(q, ctx.policy, ctx.now, ctx.graceMs));
    if (round === 0) {
      await ctx.write((q) => q.gc.markLinks(ctx.now, ctx.graceMs));
      await ctx.write((q) => q.gc.markBlobs(ctx.now, ctx.graceMs));
    } else {
      const released = ctx.released;
      ctx.released = newReleased();
      await ctx.write((q) => markReleased(q, ctx.now, ctx.graceMs, released));
    }
  }

  /** Deletes bytes (fence already raised and committed), then lowers the fence. */
  private async deleteBytes(digests: Digest[]): Promise<void> {
    if (digests.length === 0) return;
    await parallel(digests, this.config.deleteConcurrency, (d) => this.blobs.delete(d));
    await this.meta.fences.lower(digests, this.now());
  }

  private async policy(): Promise<GcPolicy> {
    const overrides = new Map<string, boolean>();
    for (const { project, policy } of await this.settings.retentionPolicies()) {
      if (policy.untagged === 'keep') overrides.set(project, false);
      // 'remove': untagged manifests go through the trash; GC reclaims them once it expires.
      if (policy.untagged === 'remove') overrides.set(project, false);
    }
    const def = this.config.deleteUntagged;
    return { deleteUntagged: (p) => overrides.get(p) ?? def, orphanReferrers: this.config.orphanReferrers };
  }
}
