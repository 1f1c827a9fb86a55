/**
 * Garbage-collection runs (`/api/v1/gc`), retention run history (`/api/v1/retention/runs`),
 * the trash and restores (`/api/v1/trash`), and usage across projects (`/api/v1/usage`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ConflictError } from '../../errors/store.js';
import { ProblemError } from '../../errors/problem.js';
import type { Lifecycle } from '../../lifecycle/services.js';
import { cursorParam, intParam, limitParam, page, parseBody, routeConfig, routeProject } from './common.js';

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

export function lifecycleRunRoutes(app: FastifyInstance, lc: Lifecycle): void {
  app.post('/api/v1/gc', { config: routeConfig('admin') }, async (req, reply) => {
    const body = parseBody(gcBody, req.body);
    try {
      const id = await lc.runs.start('api', { dryRun: body.dryRun, ...(body.graceSeconds !== undefined ? { graceMs: body.graceSeconds * 1000 } : {}) });
      return reply.code(202).header('Location', `/api/v1/gc/${id}`).send(await lc.runs.get(id));
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError(409, 'Conflict', e.message);
      throw e;
    }
  });
  app.get('/api/v1/gc', { config: routeConfig('admin') }, async (req) => {
    const limit = limitParam(req.query);
    return { ...page(await lc.runs.list(cursorParam(req.query), limit), limit), schedule: lc.scheduler.next().gc };
  });
  app.get('/api/v1/gc/:id', { config: routeConfig('admin') }, async (req) => {
    const run = await lc.runs.get(intParam((req.params as { id: string }).id, 'run id'));
    if (!run) throw new ProblemError(404, 'Not Found', 'no such garbage-collection run');
    return run;
  });

  app.get('/api/v1/retention/runs', { config: routeConfig('read-project') }, async (req) => {
    const limit = limitParam(req.query);
    const after = cursorParam(req.query);
    const project = routeProject(req);
    const items = await lc.retention.runs({ project: project || undefined, before: after, limit });
    return page(items, limit);
  });

  app.get('/api/v1/trash', { config: routeConfig('read-project') }, async (req) => {
    const limit = limitParam(req.query);
    const runId = (req.query as { runId?: unknown }).runId;
    const items = await lc.trash.list({ project: routeProject(req), runId: runId === undefined ? undefined : intParam(runId, 'runId'), after: cursorParam(req.query), limit });
    return page(items, limit);
  });
  // `?project=` is the project checked by the permission hook, and the restore is confined to
  // it: ids or a run of another project restore nothing. Without it (system admins) the
  // body's `project` narrows the selection.
  app.post('/api/v1/trash/restore', { config: routeConfig('manage-policies') }, async (req) => {
    const body = parseBody(restoreBody, req.body);
    const project = routeProject(req);
    if (project !== undefined && body.project !== undefined && body.project !== project) {
      throw new ProblemError(400, 'Bad Request', `project ${JSON.stringify(body.project.slice(0, 100))} in the body differs from ?project=${project}`);
    }
    return lc.trash.restore({ ...body, project: project ?? body.project });
  });

  app.get('/api/v1/usage', { config: routeConfig('admin') }, async () => {
    const items = [];
    for (const project of await lc.meta.usage.projects()) items.push({ project, usage: await lc.meta.usage.of({ project }), quota: (await lc.settings.get(project)).quota });
    return { items, next: null };
  });
}
