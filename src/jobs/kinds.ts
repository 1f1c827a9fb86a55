/**
 * Every kind of background job, declared once: its name, the schema of its payload, and the
 * handler that runs it, built from the services it needs. The worker (worker.ts) runs what
 * `jobHandlers` returns; whoever offers a job names a kind from here, and the type of `offer`
 * checks the payload against that kind. Adding a job kind is one entry in JOB_KINDS (plus the
 * service it calls, in JobServices, and the place that offers it).
 *
 * A payload is validated again when the job runs: rows outlive the code that wrote them, and a
 * payload this version cannot read fails the attempt with the reason instead of half-running.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { GcRuns } from '../lifecycle/gc-runs.js';
import type { Leases } from '../lifecycle/lease.js';
import type { RetentionService } from '../lifecycle/retention.js';
import { parseDigest, parseRepoName } from '../domain/names.js';
import type { ScanService } from '../scanning/service.js';
import type { SigningService } from '../signing/service.js';
import { SIGN_JOB, signManifest, type ArtifactWriter } from '../signing/signer.js';
import type { Digest, RepoName } from '../domain/names.js';
import type { WebhookDeliverer } from '../events/webhooks.js';
import type { ReplicationEngine } from '../replication/engine.js';
import type { ScrubService } from '../ops/scrub.js';
import type { JobContext, JobHandler } from './worker.js';

/** What the pull-through cache's jobs call (src/proxy; absent when no upstream is configured). */
export interface ProxyJobs {
  /** Runs the preheat request `id` (its progress is written to its record). */
  preheat(id: string, signal: AbortSignal): Promise<void>;
  /** Applies the eviction policy of one upstream; resolves with a summary for the log. */
  evict(upstream: string): Promise<Record<string, unknown>>;
}

/** The services job handlers call, handed in by the composition root. */
export interface JobServices {
  runs: GcRuns;
  retention: RetentionService;
  leases: Leases;
  scans: ScanService;
  webhooks: WebhookDeliverer;
  replication: ReplicationEngine;
  logger: Logger;
  /** Sign on push: the project's keys, where signatures are written, the host named in payloads. */
  signing: { service: SigningService; artifacts: ArtifactWriter; referenceHost: string };
  proxy?: ProxyJobs | undefined;
  scrub: ScrubService;
}

interface JobKind<P extends z.ZodTypeAny> {
  /** What the job does, for operators reading the jobs table. */
  description: string;
  payload: P;
  run(services: JobServices, payload: z.infer<P>, ctx: JobContext): Promise<void>;
}

const kind = <P extends z.ZodTypeAny>(k: JobKind<P>): JobKind<P> => k;

export const JOB_KINDS = {
  'gc.run': kind({
    description: 'A scheduled garbage collection run (lifecycle.gc.schedule).',
    payload: z.strictObject({}),
    async run(s) {
      const { id, report } = await s.runs.run('schedule');
      s.logger.info({ run: id, bytesFreed: report.bytesFreed, totals: report.totals }, 'scheduled garbage collection finished');
    },
  }),
  'retention.run': kind({
    description: "A scheduled retention run of one project (its retention policy's schedule).",
    payload: z.strictObject({ project: z.string().min(1) }),
    async run(s, { project }) {
      const r = await s.leases.with(`retention:${project}`, 600_000, () => s.retention.run(project, { dryRun: false, trigger: 'schedule' }));
      if (r) s.logger.info({ project, run: r.value.runId, removed: r.value.tags.length }, 'scheduled retention run finished');
    },
  }),
  'scan.manifest': kind({
    description: 'Scans one pushed image manifest: reads its layers, records its inventory and vulnerabilities.',
    payload: z.strictObject({ repository: z.string().min(1), digest: z.string().min(1) }),
    async run(s, { repository, digest }, ctx) {
      await s.scans.scan(parseRepoName(repository), parseDigest(digest), ctx.signal);
    },
  }),
  'vulndb.import': kind({
    description: 'Imports the OSV database carried by an artifact pushed into scanning.databaseRepository.',
    payload: z.strictObject({ repository: z.string().min(1), digest: z.string().min(1) }),
    async run(s, { repository, digest }) {
      const r = await s.scans.database.importFromArtifact(parseRepoName(repository), parseDigest(digest));
      s.logger.info({ repository, digest, imported: r.imported, version: r.version }, 'vulnerability database imported from the registry');
    },
  }),
  'scan.rescan': kind({
    description: 'Matches every stored inventory against the vulnerability database again (after it changed); reads no layer.',
    payload: z.strictObject({}),
    async run(s, _p, ctx) {
      await s.scans.database.rescanAll(ctx.signal);
    },
  }),
  [SIGN_JOB]: kind({
    description: "Signs a pushed manifest with its project's key and stores a cosign signature (signing policy signOnPush).",
    payload: z.strictObject({ repository: z.string().min(1), digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) }),
    async run(s, { repository, digest }) {
      const r = await signManifest(s.signing.service, s.signing.artifacts, repository as RepoName, digest as Digest, s.signing.referenceHost);
      s.logger.info({ repository, digest, result: r }, 'sign on push');
    },
  }),
  'proxy.preheat': kind({
    description: 'Fetch images into a pull-through cache ahead of time (POST /api/v1/proxies/{name}/preheat); progress is on the request.',
    payload: z.strictObject({ id: z.string().min(1) }),
    async run(s, { id }, ctx) {
      if (!s.proxy) throw new Error('no pull-through cache is configured on this node');
      await s.proxy.preheat(id, ctx.signal);
    },
  }),
  'proxy.evict': kind({
    description: "Evict a pull-through cache's least recently pulled images by its cacheMaxAgeDays and cacheMaxBytes (GC then reclaims the bytes).",
    payload: z.strictObject({ upstream: z.string().min(1) }),
    async run(s, { upstream }) {
      if (!s.proxy) throw new Error('no pull-through cache is configured on this node');
      const report = await s.proxy.evict(upstream);
      s.logger.info(report, 'pull-through cache eviction finished');
    },
  }),
  'webhook.deliver': kind({
    description: "Delivers a webhook subscription's due deliveries, in order (src/events/webhooks.ts).",
    payload: z.strictObject({ webhook: z.number().int() }),
    async run(s, { webhook }, ctx) {
      await s.webhooks.drain(webhook, ctx.signal);
    },
  }),
  'replication.run': kind({
    description: 'One run of a replication policy (src/replication/engine.ts).',
    payload: z.strictObject({ run: z.number().int() }),
    async run(s, { run }, ctx) {
      await s.replication.run(run, ctx.signal);
    },
  }),
  'scrub.run': kind({
    description: 'A scrub of stored content (scrub.schedule): re-hash blobs and manifests, quarantine corrupt blobs, log what it found.',
    payload: z.strictObject({ repository: z.string().min(1).optional(), rateBytesPerSecond: z.number().min(0).optional() }),
    async run(s, { repository, rateBytesPerSecond }, ctx) {
      // One run at a time across nodes; a run that loses its lease resumes from its saved position.
      const r = await s.leases.with(`scrub:${repository ?? '*'}`, 600_000, () =>
        s.scrub.run({ repository: repository as RepoName | undefined, rateBytesPerSecond, signal: ctx.signal }),
      );
      if (!r) return s.logger.info({ repository }, 'scrub already running elsewhere');
      const report = r.value;
      const fields = { repository, blobs: report.blobs, manifests: report.manifests, problems: report.problems, complete: report.complete };
      if (report.problems.length > 0) s.logger.error(fields, 'scrub found damaged or missing content');
      else s.logger.info(fields, 'scrub finished: no problems');
    },
  }),
};

export type JobKindName = keyof typeof JOB_KINDS;
export type JobPayload<K extends JobKindName> = z.infer<(typeof JOB_KINDS)[K]['payload']>;

/** Puts a job on the durable queue unless one with the same dedupe key is pending. */
export type OfferJob = <K extends JobKindName>(kind: K, payload: JobPayload<K>, dedupeKey: string) => Promise<unknown>;

/** The handler of every kind, for the worker. */
export function jobHandlers(services: JobServices): Map<string, JobHandler> {
  const logger = services.logger.child({ area: 'jobs' });
  return new Map(
    Object.entries(JOB_KINDS).map(([name, k]: [string, JobKind<z.ZodTypeAny>]) => [
      name,
      async (payload: unknown, ctx: JobContext) => {
        const parsed = k.payload.safeParse(payload);
        if (!parsed.success) throw new Error(`job ${ctx.job.id} (${name}): unreadable payload: ${parsed.error.message}`);
        await k.run({ ...services, logger }, parsed.data, ctx);
      },
    ]),
  );
}
