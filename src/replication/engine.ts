/**
 * The replication engine: copies artifacts from one Endpoint to another (push: this registry
 * to a target; pull: a target to this registry) for one run of a policy, as a job.
 *
 * What is copied: each matching repository:tag (or the one artifact of an event-triggered
 * run), its whole manifest tree (an index's children, optionally only some platforms; each
 * manifest's config and layers), and its referrers (signatures, SBOMs, attestations), found
 * through the referrers API or the tag fallback, and announced on the destination through its
 * referrers API or, when it has none, by merging them into the fallback tag's index.
 *
 * What is not sent again: a manifest the destination already has under that digest (a HEAD),
 * and a blob it already has (HEAD), or can mount from a repository this run already copied it
 * to; only then are the bytes streamed from the source into the destination. So a run retried
 * after a failure sends only what is missing, and two sites replicating to each other stop
 * after one round: the second site's copy back finds every digest present and writes nothing
 * (no push, so no event, so no further run).
 *
 * Each artifact is tried up to three times; its result is recorded in the run's history. A run
 * ends succeeded when every artifact was copied or skipped, failed otherwise (with the first
 * errors), and cancelled when asked; it is stopped at `replication.runTimeoutSeconds`. The end
 * is recorded with a `replication.completed` event in the same transaction.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { emitEvent } from '../events/emit.js';
import type { EventConsumer } from '../events/dispatcher.js';
import type { ReplicationItemRecord, ReplicationPolicyRecord, ReplicationRunRecord, ReplicationTargetRecord } from '../metadata/event-store.js';
import type { MetadataStore } from '../metadata/store.js';
import { fallbackTag, type Descriptor, type Endpoint, type FetchedManifest } from './endpoint.js';
import { matcher } from './patterns.js';

export interface ReplicationSettings {
  concurrency: number;
  bandwidthBytesPerSecond: number;
  runTimeoutMs: number;
}

export interface PolicyOptions {
  /** `os/arch[/variant]` to copy from an index (default: every platform, the index unchanged). */
  platforms?: string[];
  /** Copy referrers (default true). */
  referrers?: boolean;
  /** Propagate tag and manifest deletes (event-triggered push policies; default false). */
  deletes?: boolean;
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const ATTEMPTS = 3;

/** Bytes per second through a stream, at most `rate` (0: no limit). */
function throttle(rate: number): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const due = started + (sent / rate) * 1000 - Date.now();
      if (due > 0) setTimeout(() => done(null, chunk), due);
      else done(null, chunk);
    },
  });
}

/** A small semaphore: at most `n` at a time. */
class Limit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

function parse(m: FetchedManifest): { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[]; mediaType?: string } {
  return JSON.parse(m.body.toString('utf8')) as never;
}

function platformOf(d: Descriptor): string {
  const p = d.platform ?? {};
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export interface RunStats {
  artifacts: number;
  copied: number;
  skipped: number;
  failed: number;
  deleted: number;
  manifestsSent: number;
  blobsSent: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesSent: number;
}

/** One run's copying between two endpoints, with what it counted. */
class Copier {
  readonly stats: RunStats = { artifacts: 0, copied: 0, skipped: 0, failed: 0, deleted: 0, manifestsSent: 0, blobsSent: 0, blobsMounted: 0, blobsPresent: 0, bytesSent: 0 };
  /** Blobs copied (or found) in this run: digest -> destination repository that has it. */
  private readonly placed = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly limit: Limit;

  constructor(
    private readonly src: Endpoint,
    private readonly dst: Endpoint,
    private readonly options: PolicyOptions,
    private readonly settings: ReplicationSettings,
    private readonly signal: AbortSignal,
  ) {
    this.limit = new Limit(settings.concurrency);
  }

  /** Copies `repo:ref` with its tree and referrers; 'copied' when anything was written, else 'skipped'. */
  async artifact(repo: string, ref: string): Promise<{ status: 'copied' | 'skipped'; digest: string; bytes: number }> {
    const before = this.stats.bytesSent + this.stats.manifestsSent;
    const bytesBefore = this.stats.bytesSent;
    const m = await this.src.manifest(repo, ref, this.signal);
    if (!m) throw new Error(`${repo}:${ref} is not on ${this.src.name}`);
    const digest = await this.tree(repo, m, ref);
    if (this.options.referrers !== false) await this.referrers(repo, digest, 0);
    const wrote = this.stats.bytesSent + this.stats.manifestsSent !== before;
    return { status: wrote ? 'copied' : 'skipped', digest, bytes: this.stats.bytesSent - bytesBefore };
  }

  /** Puts manifest `m` (by `ref`) after everything it references; returns its digest on the destination. */
  private async tree(repo: string, m: FetchedManifest, ref: string): Promise<string> {
    const present = await this.dst.manifestDigest(repo, ref, this.signal);
    let out = m;
    const doc = parse(m);
    if (doc.manifests && (INDEX_TYPES.has(m.mediaType) || INDEX_TYPES.has(doc.mediaType ?? ''))) {
      let children = doc.manifests;
      if (this.options.platforms?.length) {
        const wanted = new Set(this.options.platforms);
        children = children.filter((c) => !c.platform || wanted.has(platformOf(c)) || wanted.has(platformOf({ ...c, platform: { ...c.platform, variant: undefined } })));
        if (children.length !== doc.manifests.length) {
          const body = Buffer.from(JSON.stringify({ ...JSON.parse(m.body.toString('utf8')), manifests: children }));
          out = { body, mediaType: m.mediaType, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
        }
      }
      if (present === out.digest) return out.digest;
      await Promise.all(
        children.map(async (c) => {
          if ((await this.dst.manifestDigest(repo, c.digest, this.signal)) === c.digest) return;
          const child = await this.src.manifest(repo, c.digest, this.signal);
          if (!child) throw new Error(`${repo}@${c.digest} (a child of ${m.digest}) is not on ${this.src.name}`);
          await this.tree(repo, child, c.digest);
        }),
      );
    } else {
      if (present === out.digest) return out.digest;
      const blobs = [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])];
      await Promise.all(blobs.map((b) => this.blob(repo, b)));
    }
    await this.dst.putManifest(repo, ref, out, this.signal);
    this.stats.manifestsSent++;
    return out.digest;
  }

  /** HEAD, then mount, then upload (streamed). Once per digest and repository per run. */
  private blob(repo: string, d: Descriptor): Promise<void> {
    const key = `${repo}@${d.digest}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.limit.run(async () => {
        if (await this.dst.hasBlob(repo, d.digest, this.signal)) {
          this.stats.blobsPresent++;
        } else {
          const from = this.placed.get(d.digest);
          if (from !== undefined && from !== repo && (await this.dst.mountBlob(repo, d.digest, from, this.signal))) this.stats.blobsMounted++;
          else {
            const { size, stream } = await this.src.openBlob(repo, d.digest, this.signal);
            const length = size >= 0 ? size : d.size;
            let body: Readable = stream;
            if (this.settings.bandwidthBytesPerSecond > 0) body = stream.pipe(throttle(this.settings.bandwidthBytesPerSecond));
            try {
              await this.dst.putBlob(repo, d.digest, length, body, this.signal);
            } catch (e) {
              stream.destroy();
              throw e;
            }
            this.stats.blobsSent++;
            this.stats.bytesSent += length;
          }
        }
        this.placed.set(d.digest, repo);
      });
      this.inFlight.set(key, p);
    }
    return p;
  }

  /** Copies the referrers of `digest` (and theirs, a few levels deep). */
  private async referrers(repo: string, digest: string, depth: number): Promise<void> {
    if (depth > 3) return;
    const { manifests } = await this.src.referrers(repo, digest, this.signal);
    if (manifests.length === 0) return;
    for (const r of manifests) {
      const m = await this.src.manifest(repo, r.digest, this.signal);
      if (!m) continue;
      await this.tree(repo, m, r.digest);
      await this.referrers(repo, r.digest, depth + 1);
    }
    const there = await this.dst.referrers(repo, digest, this.signal);
    if (there.api) return;
    // No referrers API on the destination: keep its fallback tag's index up to date.
    const known = new Set(there.manifests.map((x) => x.digest));
    const missing = manifests.filter((x) => !known.has(x.digest));
    if (missing.length === 0) return;
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [...there.manifests, ...missing] }));
    await this.dst.putManifest(repo, fallbackTag(digest), { body, mediaType: 'application/vnd.oci.image.index.v1+json', digest: '' }, this.signal);
    this.stats.manifestsSent++;
  }
}

export class ReplicationEngine {
  constructor(
    private readonly store: MetadataStore,
    private readonly local: Endpoint,
    private readonly remote: (target: ReplicationTargetRecord) => Endpoint,
    private readonly settings: ReplicationSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs replication run `id` (a job): copies, records each artifact, and ends the run. */
  async run(id: number, jobSignal: AbortSignal): Promise<void> {
    const run = await this.store.replication.run(id);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return; // cancelled, or already over
    const policy = await this.store.replication.policy(run.policy);
    const target = policy && (await this.store.replication.target(policy.target));
    if (!policy || !target) {
      await this.finish(run, 'failed', null, `policy ${run.policy} or its target no longer exists`);
      return;
    }
    await this.store.replication.setRunStatus(id, 'running', { onlyFrom: ['queued', 'running'] }, this.now());
    const stop = new AbortController();
    const timeout = AbortSignal.timeout(this.settings.runTimeoutMs);
    const signal = AbortSignal.any([jobSignal, timeout, stop.signal]);
    // Cancellation is a status written by anyone on any node: looked at every second.
    const watch = setInterval(() => {
      void this.store.replication.run(id).then((r) => r?.status === 'cancelled' && stop.abort(new Error('cancelled')), () => {});
    }, 1000);
    watch.unref();
    const remote = this.remote(target);
    const [src, dst] = policy.direction === 'push' ? [this.local, remote] : [remote, this.local];
    const copier = new Copier(src, dst, policy.options as PolicyOptions, this.settings, signal);
    const errors: string[] = [];
    try {
      const artifacts = run.scope ? [run.scope] : await this.select(policy, src, signal);
      copier.stats.artifacts = artifacts.length;
      const limit = new Limit(Math.max(1, Math.ceil(this.settings.concurrency / 2)));
      await Promise.all(
        artifacts.map((a) =>
          limit.run(async () => {
            if (signal.aborted) return;
            const item = await this.one(copier, dst, policy, a, signal);
            if (item.status === 'failed' && errors.length < 5) errors.push(`${item.artifact}: ${item.error}`);
            await this.store.replication.addItem(id, item);
          }),
        ),
      );
    } catch (e) {
      errors.unshift((e as Error).message);
    } finally {
      clearInterval(watch);
    }
    const summary = { ...copier.stats } as unknown as Record<string, unknown>;
    if (stop.signal.aborted) return this.finish(run, 'cancelled', summary, 'cancelled');
    if (timeout.aborted) return this.finish(run, 'failed', summary, `timed out after ${this.settings.runTimeoutMs / 1000} s (replication.runTimeoutSeconds)`);
    if (jobSignal.aborted) throw new Error('stopped: the worker is shutting down or its lease ended'); // the job is retried
    const failed = copier.stats.failed > 0 || errors.length > 0;
    await this.finish(run, failed ? 'failed' : 'succeeded', summary, failed ? `${copier.stats.failed} of ${copier.stats.artifacts} artifacts failed: ${errors.join('; ')}` : null);
  }

  private async one(copier: Copier, dst: Endpoint, policy: ReplicationPolicyRecord, a: { repository: string; reference: string; deleted?: boolean }, signal: AbortSignal): Promise<ReplicationItemRecord> {
    const artifact = `${a.repository}:${a.reference}`;
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS && !signal.aborted; attempt++) {
      try {
        if (a.deleted) {
          const ok = await dst.deleteManifest(a.repository, a.reference, signal);
          copier.stats.deleted += ok ? 1 : 0;
          return { artifact, digest: null, status: ok ? 'deleted' : 'skipped', bytes: 0, error: null, at: this.now() };
        }
        const r = await copier.artifact(a.repository, a.reference);
        copier.stats[r.status]++;
        return { artifact, digest: r.digest, status: r.status, bytes: r.bytes, error: null, at: this.now() };
      } catch (e) {
        last = (e as Error).message;
        this.logger.warn({ policy: policy.name, artifact, attempt, err: last }, 'replicating an artifact failed');
        if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, 250 * 4 ** (attempt - 1)).unref());
      }
    }
    copier.stats.failed++;
    return { artifact, digest: null, status: 'failed', bytes: 0, error: signal.aborted ? `stopped: ${String((signal.reason as Error)?.message ?? signal.reason)}` : last, at: this.now() };
  }

  /** The artifacts a whole run copies: matching repositories of the source, their matching tags. */
  private async select(policy: ReplicationPolicyRecord, src: Endpoint, signal: AbortSignal): Promise<{ repository: string; reference: string }[]> {
    const repoOk = matcher(policy.repositories);
    const tagOk = matcher(policy.tags);
    let repos: string[];
    try {
      repos = (await src.repositories(signal)).filter(repoOk);
    } catch (e) {
      // Registries that hide their catalog: patterns without wildcards still name repositories.
      repos = policy.repositories.filter((p) => !/[*?{[]/.test(p));
      if (repos.length === 0) throw e;
    }
    const out: { repository: string; reference: string }[] = [];
    for (const repository of repos) for (const tag of await src.tags(repository, signal)) if (tagOk(tag) && !/^sha256-[0-9a-f]{64}$/.test(tag)) out.push({ repository, reference: tag });
    return out;
  }

  private async finish(run: ReplicationRunRecord, status: 'succeeded' | 'failed' | 'cancelled', summary: Record<string, unknown> | null, error: string | null): Promise<void> {
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const changed = await tx.replication.setRunStatus(run.id, status, { ...(summary ? { summary } : {}), error, onlyFrom: status === 'cancelled' ? ['queued', 'running', 'cancelled'] : ['queued', 'running'] }, now);
      if (!changed) return;
      await emitEvent(tx, { type: 'replication.completed', project: null, data: { run: run.id, policy: run.policy, status, error, summary } }, () => now);
    });
    this.logger.info({ run: run.id, policy: run.policy, status, error, summary }, 'replication run finished');
  }
}

/** Starts a run of `policy` in `tx` (a row and its job). */
export async function startRun(tx: Pick<MetadataStore, 'replication' | 'jobs'>, policy: string, trigger: string, scope: ReplicationRunRecord['scope'], now: number): Promise<number> {
  const id = await tx.replication.createRun({ policy, trigger, scope }, now);
  await tx.jobs.enqueue({ kind: 'replication.run', payload: { run: id }, maxAttempts: 3, runAt: now, dedupeKey: `replication:run:${id}` }, now);
  return id;
}

/** Event-triggered push policies: a run per pushed (or, with `deletes`, deleted) artifact that matches. */
export function replicationConsumer(): EventConsumer {
  return {
    name: 'replication',
    async take(tx, event, now) {
      if (event.type !== 'artifact.pushed' && event.type !== 'tag.deleted' && event.type !== 'artifact.deleted') return;
      if (!event.repository) return;
      const tag = typeof event.data.tag === 'string' ? event.data.tag : null;
      const digest = typeof event.data.digest === 'string' ? event.data.digest : null;
      for (const p of await tx.replication.policies('event')) {
        if (!p.enabled || p.direction !== 'push' || !matcher(p.repositories)(event.repository)) continue;
        const options = p.options as PolicyOptions;
        if (event.type === 'artifact.pushed') {
          if (tag === null) {
            // A referrer pushed by digest (a signature, an SBOM) follows its subject; other pushes by digest are index children, copied with their index.
            if (typeof event.data.subject === 'string' && digest !== null) await startRun(tx, p.name, 'event', { repository: event.repository, reference: digest }, now);
            continue;
          }
          if (!matcher(p.tags)(tag)) continue;
          await startRun(tx, p.name, 'event', { repository: event.repository, reference: tag }, now);
        } else if (options.deletes) {
          const reference = event.type === 'tag.deleted' ? tag : digest;
          if (reference === null || (event.type === 'tag.deleted' && !matcher(p.tags)(reference))) continue;
          await startRun(tx, p.name, 'event', { repository: event.repository, reference, deleted: true }, now);
        }
      }
    },
  };
}
