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
import type { ScrubService } from '../ops/scrub.js';
import type { RepoName } from '../domain/names.js';
import type { JobContext, JobHandler } from './worker.js';

/** The services job handlers call, handed in by the composition root. */
export interface JobServices {
  runs: GcRuns;
  retention: RetentionService;
  leases: Leases;
  logger: Logger;
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
