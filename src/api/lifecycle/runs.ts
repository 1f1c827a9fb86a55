/**
 * Garbage-collection runs (`/api/v1/gc`), retention run history (`/api/v1/retention/runs`),
 * the trash and restores (`/api/v1/trash`), and usage across projects (`/api/v1/usage`).
 * Lists page like every /api/v1 list (src/api/paging.ts): ids descend, the cursor is the
 * last id of the previous page, opaque to clients.
 */
import { z } from 'zod';
import { ConflictError } from '../../errors/store.js';
import { ProblemError } from '../../errors/problem.js';
import { decodeCursor, pageOf, pageOfList, parseLimit } from '../paging.js';
import { GcRun, GcRuns, pageOf as pageSchema, RestoreResult, RetentionRun, TrashEntry, UsageRow } from '../schemas.js';
import { body, LIST_QUERY, query, queryOf, type ApiRoute } from '../route.js';
import { intParam, recordChange, routeConfig, routeProject } from './common.js';

const gcBody = z.strictObject({
  dryRun: z.boolean().default(false),
  graceSeconds: z.number().min(0).optional(),
});

const restoreBody = z
  .strictObject({
    ids: z.array(z.number().int().min(0)).max(10000).optional(),
    runId: z.number().int().min(0).optional(),
    project: z.string().optional(),
  })
  .refine((b) => b.ids !== undefined || b.runId !== undefined, 'give ids or runId');

const byId = (r: { id: number }) => r.id;
const same = <T>(r: T) => r;

export const lifecycleRunRoutes: ApiRoute[] = [
  {
    method: 'POST',
    url: '/gc',
    ...routeConfig('admin'),
    summary: 'Start a garbage-collection run in the background (Location names it).',
    body: gcBody,
    query: null,
    response: GcRun,
    status: 202,
    audit: 'gc.start',
    async handle(request, reply, s) {
      const lc = s.lifecycle;
      const input = body(gcBody, request);
      let id: number;
      try {
        id = await lc.runs.start('api', { dryRun: input.dryRun, ...(input.graceSeconds !== undefined ? { graceMs: input.graceSeconds * 1000 } : {}) });
      } catch (e) {
        if (e instanceof ConflictError) throw new ProblemError('CONFLICT', e.message);
        throw e;
      }
      recordChange(request, s, 'gc.start', `gc:${id}`, null, input);
      return reply.code(202).header('Location', `/api/v1/gc/${id}`).send(await lc.runs.get(id));
    },
  },
  {
    method: 'GET',
    url: '/gc',
    ...routeConfig('admin'),
    summary: 'Garbage-collection runs, newest first, and the next scheduled run.',
    body: null,
    query: queryOf(LIST_QUERY),
    response: GcRuns,
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      const limit = parseLimit(q.limit);
      const rows = await s.lifecycle.runs.list(decodeCursor<number>(q.cursor, 'number'), limit + 1);
      return { ...pageOf(rows, limit, byId, same), schedule: s.lifecycle.scheduler.next().gc };
    },
  },
  {
    method: 'GET',
    url: '/gc/:id',
    ...routeConfig('admin'),
    summary: 'One garbage-collection run with its progress and report.',
    body: null,
    query: null,
    response: GcRun,
    audit: null,
    async handle(request, _reply, s) {
      const run = await s.lifecycle.runs.get(intParam((request.params as { id: string }).id, 'run id'));
      if (!run) throw new ProblemError('NOT_FOUND', 'no such garbage-collection run');
      return run;
    },
  },
  {
    method: 'GET',
    url: '/retention/runs',
    ...routeConfig('read-project'),
    summary: 'Retention runs, newest first (of `project`; without it, of every project: system admins).',
    body: null,
    query: queryOf({ project: true, ...LIST_QUERY }),
    response: pageSchema(RetentionRun),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      const limit = parseLimit(q.limit);
      const project = routeProject(request);
      const rows = await s.lifecycle.retention.runs({ project: project || undefined, before: decodeCursor<number>(q.cursor, 'number'), limit: limit + 1 });
      return pageOf(rows, limit, byId, same);
    },
  },
  {
    method: 'GET',
    url: '/trash',
    ...routeConfig('read-project'),
    summary: 'Restorable trash entries, newest first (of `project`, or of one retention run).',
    body: null,
    query: queryOf({ project: true, runId: true, ...LIST_QUERY }),
    response: pageSchema(TrashEntry),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      const limit = parseLimit(q.limit);
      const rows = await s.lifecycle.trash.list({
        project: routeProject(request),
        runId: q.runId === undefined ? undefined : intParam(q.runId, 'runId'),
        after: decodeCursor<number>(q.cursor, 'number'),
        limit: limit + 1,
      });
      return pageOf(rows, limit, byId, same);
    },
  },
  // `?project=` is the project checked by the permission hook, and the restore is confined to
  // it: ids or a run of another project restore nothing. Without it (system admins) the
  // body's `project` narrows the selection.
  {
    method: 'POST',
    url: '/trash/restore',
    ...routeConfig('manage-policies'),
    summary: 'Restore trash entries (by ids, or all of a retention run) within their restore window.',
    body: restoreBody,
    query: queryOf({ project: true }),
    response: RestoreResult,
    audit: 'trash.restore',
    async handle(request, _reply, s) {
      const input = body(restoreBody, request);
      const project = routeProject(request);
      if (project !== undefined && input.project !== undefined && input.project !== project) {
        throw new ProblemError('INVALID', `project ${JSON.stringify(input.project.slice(0, 100))} in the body differs from ?project=${project}`);
      }
      const result = await s.lifecycle.trash.restore({ ...input, project: project ?? input.project });
      recordChange(request, s, 'trash.restore', project ? `project:${project}` : 'trash', project ?? input.project ?? null, { restored: result.restored.length, skipped: result.skipped.length, ...(input.runId !== undefined ? { runId: input.runId } : {}) });
      return result;
    },
  },
  {
    method: 'GET',
    url: '/usage',
    ...routeConfig('admin'),
    summary: 'Usage and quota of every project that holds content (system admins).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageSchema(UsageRow),
    audit: null,
    async handle(request, _reply, s) {
      const lc = s.lifecycle;
      const q = query(request);
      const page = pageOfList(await lc.meta.usage.projects(), parseLimit(q.limit, 100, 1000), q.cursor);
      const items = [];
      for (const project of page.items) items.push({ project, usage: await lc.meta.usage.of({ project }), quota: (await lc.settings.get(project)).quota });
      return { items, next: page.next };
    },
  },
];

