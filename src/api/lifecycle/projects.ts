/**
 * Per-project lifecycle settings and figures: retention policy (+ manual runs), tag
 * immutability rules, quota, usage. `/api/v1/projects/{name}/...`.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { ProblemError } from '../../errors/problem.js';
import { immutabilitySchema, quotaSchema, retentionPolicySchema } from '../../lifecycle/settings.js';
import { ImmutabilitySetting, ProjectQuota, ProjectUsage, RetentionReport, RetentionSetting } from '../schemas.js';
import { body, type ApiRoute } from '../route.js';
import { projectParam, recordChange, routeConfig } from './common.js';

const runBody = z.strictObject({ dryRun: z.boolean().default(false) });

function checkCron(schedule: string | null): void {
  if (!schedule) return;
  try {
    new Cron(schedule, { paused: true }).stop();
  } catch (e) {
    throw new ProblemError('INVALID', `schedule: ${(e as Error).message}`);
  }
}

const base = '/projects/:name';
const read = routeConfig('read-project');
const manage = routeConfig('manage-policies');
const admin = routeConfig('admin');

export const projectLifecycleRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: `${base}/retention`,
    ...read,
    summary: "A project's retention policy and its next scheduled run.",
    body: null,
    query: null,
    response: RetentionSetting,
    audit: null,
    async handle(request, _reply, s) {
      const project = projectParam(request.params);
      return { project, policy: (await s.lifecycle.settings.get(project)).retention, next: s.lifecycle.scheduler.next().retention[project] ?? null };
    },
  },
  {
    method: 'PUT',
    url: `${base}/retention`,
    ...manage,
    summary: "Set a project's retention policy (rules, protected tags, untagged manifests, restore window, schedule).",
    body: retentionPolicySchema,
    query: null,
    response: RetentionSetting,
    audit: 'retention.set',
    async handle(request, _reply, s) {
      const project = projectParam(request.params);
      const policy = body(retentionPolicySchema, request);
      checkCron(policy.schedule);
      await s.lifecycle.settings.set(project, 'retention', policy);
      await s.lifecycle.scheduler.refresh();
      recordChange(request, s, 'retention.set', `project:${project}`, project, policy);
      return { project, policy };
    },
  },
  {
    method: 'DELETE',
    url: `${base}/retention`,
    ...manage,
    summary: "Remove a project's retention policy.",
    body: null,
    query: null,
    response: null,
    audit: 'retention.delete',
    async handle(request, reply, s) {
      const project = projectParam(request.params);
      await s.lifecycle.settings.set(project, 'retention', null);
      await s.lifecycle.scheduler.refresh();
      recordChange(request, s, 'retention.delete', `project:${project}`, project);
      return reply.code(204).send();
    },
  },
  {
    method: 'POST',
    url: `${base}/retention/runs`,
    ...manage,
    summary: "Run a project's retention policy now (a dry run reports what it would move to the trash).",
    body: runBody,
    query: null,
    response: RetentionReport,
    status: 201,
    audit: 'retention.run',
    async handle(request, reply, s) {
      const lc = s.lifecycle;
      const project = projectParam(request.params);
      const { dryRun } = body(runBody, request);
      if (!(await lc.settings.get(project)).retention) throw new ProblemError('NOT_FOUND', `project ${project} has no retention policy`);
      const r = await lc.leases.with(`retention:${project}`, 600_000, () => lc.retention.run(project, { dryRun, trigger: 'manual' }));
      if (!r) throw new ProblemError('CONFLICT', `a retention run of project ${project} is in progress`);
      recordChange(request, s, 'retention.run', `project:${project}`, project, { runId: r.value.runId, dryRun, tags: r.value.tags.length, untagged: r.value.untagged.length });
      return reply.code(201).send(r.value);
    },
  },
  {
    method: 'GET',
    url: `${base}/immutability`,
    ...read,
    summary: "A project's tag immutability rules.",
    body: null,
    query: null,
    response: ImmutabilitySetting,
    audit: null,
    async handle(request, _reply, s) {
      const project = projectParam(request.params);
      return { project, rules: (await s.lifecycle.settings.get(project)).immutability?.rules ?? [] };
    },
  },
  {
    method: 'PUT',
    url: `${base}/immutability`,
    ...manage,
    summary: "Set a project's tag immutability rules (tags they match cannot be moved or deleted).",
    body: immutabilitySchema,
    query: null,
    response: ImmutabilitySetting,
    audit: 'immutability.set',
    async handle(request, _reply, s) {
      const project = projectParam(request.params);
      const rules = body(immutabilitySchema, request);
      await s.lifecycle.settings.set(project, 'immutability', rules.rules.length > 0 ? rules : null);
      recordChange(request, s, 'immutability.set', `project:${project}`, project, rules);
      return { project, rules: rules.rules };
    },
  },
  {
    method: 'DELETE',
    url: `${base}/immutability`,
    ...manage,
    summary: "Remove a project's tag immutability rules.",
    body: null,
    query: null,
    response: null,
    audit: 'immutability.delete',
    async handle(request, reply, s) {
      const project = projectParam(request.params);
      await s.lifecycle.settings.set(project, 'immutability', null);
      recordChange(request, s, 'immutability.delete', `project:${project}`, project);
      return reply.code(204).send();
    },
  },
  {
    method: 'GET',
    url: `${base}/quota`,
    ...read,
    summary: "A project's quota and its usage.",
    body: null,
    query: null,
    response: ProjectQuota,
    audit: null,
    async handle(request, _reply, s) {
      const project = projectParam(request.params);
      return { project, quota: (await s.lifecycle.settings.get(project)).quota, usage: await s.lifecycle.meta.usage.of({ project }) };
    },
  },
  {
    method: 'PUT',
    url: `${base}/quota`,
    ...admin,
    summary: "Set a project's quota (bytes, repositories, tags; null: no limit) (system admins).",
    body: quotaSchema,
    query: null,
    response: ProjectQuota,
    audit: 'quota.set',
    async handle(request, _reply, s) {
      const project = projectParam(request.params);
      const quota = body(quotaSchema, request);
      await s.lifecycle.settings.set(project, 'quota', quota);
      recordChange(request, s, 'quota.set', `project:${project}`, project, quota);
      return { project, quota, usage: await s.lifecycle.meta.usage.of({ project }) };
    },
  },
  {
    method: 'DELETE',
    url: `${base}/quota`,
    ...admin,
    summary: "Remove a project's quota (system admins).",
    body: null,
    query: null,
    response: null,
    audit: 'quota.delete',
    async handle(request, reply, s) {
      const project = projectParam(request.params);
      await s.lifecycle.settings.set(project, 'quota', null);
      recordChange(request, s, 'quota.delete', `project:${project}`, project);
      return reply.code(204).send();
    },
  },
  {
    method: 'GET',
    url: `${base}/usage`,
    ...read,
    summary: "A project's usage, its quota, and the usage of each of its repositories.",
    body: null,
    query: null,
    response: ProjectUsage,
    audit: null,
    async handle(request, _reply, s) {
      const lc = s.lifecycle;
      const project = projectParam(request.params);
      return {
        project,
        quota: (await lc.settings.get(project)).quota,
        usage: await lc.meta.usage.of({ project }),
        repositories: (await lc.meta.usage.byRepository(project)).map((r) => ({ name: r.repository, ...r.usage })),
      };
    },
  },
];
