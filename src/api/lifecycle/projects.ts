/**
 * Per-project lifecycle settings and figures: retention policy (+ manual runs), tag
 * immutability rules, quota, usage. `/api/v1/projects/{name}/...`.
 */
import { Cron } from 'croner';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ProblemError } from '../../errors/problem.js';
import type { Lifecycle } from '../../lifecycle/services.js';
import { immutabilitySchema, quotaSchema, retentionPolicySchema } from '../../lifecycle/settings.js';
import { parseBody, projectParam, routeConfig } from './common.js';

const runBody = z.strictObject({ dryRun: z.boolean().default(false) });

function checkCron(schedule: string | null): void {
  if (!schedule) return;
  try {
    new Cron(schedule, { paused: true }).stop();
  } catch (e) {
    throw new ProblemError(400, 'Bad Request', `schedule: ${(e as Error).message}`);
  }
}

export function projectLifecycleRoutes(app: FastifyInstance, lc: Lifecycle): void {
  const base = '/api/v1/projects/:name';

  app.get(`${base}/retention`, { config: routeConfig('read-project') }, async (req) => {
    const project = projectParam(req.params);
    return { project, policy: (await lc.settings.get(project)).retention, next: lc.scheduler.next().retention[project] ?? null };
  });
  app.put(`${base}/retention`, { config: routeConfig('manage-policies') }, async (req) => {
    const project = projectParam(req.params);
    const policy = parseBody(retentionPolicySchema, req.body);
    checkCron(policy.schedule);
    await lc.settings.set(project, 'retention', policy);
    await lc.scheduler.refresh();
    return { project, policy };
  });
  app.delete(`${base}/retention`, { config: routeConfig('manage-policies') }, async (req, reply) => {
    await lc.settings.set(projectParam(req.params), 'retention', null);
    await lc.scheduler.refresh();
    return reply.code(204).send();
  });
  app.post(`${base}/retention/runs`, { config: routeConfig('manage-policies') }, async (req, reply) => {
    const project = projectParam(req.params);
    const { dryRun } = parseBody(runBody, req.body);
    if (!(await lc.settings.get(project)).retention) throw new ProblemError(404, 'Not Found', `project ${project} has no retention policy`);
    const r = await lc.leases.with(`retention:${project}`, 600_000, () => lc.retention.run(project, { dryRun, trigger: 'manual' }));
    if (!r) throw new ProblemError(409, 'Conflict', `a retention run of project ${project} is in progress`);
    return reply.code(201).send(r.value);
  });

  app.get(`${base}/immutability`, { config: routeConfig('read-project') }, async (req) => {
    const project = projectParam(req.params);
    return { project, rules: (await lc.settings.get(project)).immutability?.rules ?? [] };
  });
  app.put(`${base}/immutability`, { config: routeConfig('manage-policies') }, async (req) => {
    const project = projectParam(req.params);
    const rules = parseBody(immutabilitySchema, req.body);
    await lc.settings.set(project, 'immutability', rules.rules.length > 0 ? rules : null);
    return { project, rules: rules.rules };
  });
  app.delete(`${base}/immutability`, { config: routeConfig('manage-policies') }, async (req, reply) => {
    await lc.settings.set(projectParam(req.params), 'immutability', null);
    return reply.code(204).send();
  });

  app.get(`${base}/quota`, { config: routeConfig('read-project') }, async (req) => {
    const project = projectParam(req.params);
    return { project, quota: (await lc.settings.get(project)).quota, usage: await lc.meta.usage.of({ project }) };
  });
  app.put(`${base}/quota`, { config: routeConfig('admin') }, async (req) => {
    const project = projectParam(req.params);
    const quota = parseBody(quotaSchema, req.body);
    await lc.settings.set(project, 'quota', quota);
    return { project, quota, usage: await lc.meta.usage.of({ project }) };
  });
  app.delete(`${base}/quota`, { config: routeConfig('admin') }, async (req, reply) => {
    await lc.settings.set(projectParam(req.params), 'quota', null);
    return reply.code(204).send();
  });

  app.get(`${base}/usage`, { config: routeConfig('read-project') }, async (req) => {
    const project = projectParam(req.params);
    return {
      project,
      quota: (await lc.settings.get(project)).quota,
      usage: await lc.meta.usage.of({ project }),
      repositories: (await lc.meta.usage.byRepository(project)).map((r) => ({ name: r.repository, ...r.usage })),
    };
  });
}
