/** `/replication/...`: targets, policies, runs (system admins). */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProblemError } from '../../errors/problem.js';
import { pageOfList, parseLimit } from '../paging.js';
import { body, LIST_QUERY, params, query, queryOf, systemResource, type ApiRoute } from '../route.js';

const time = z.string().describe('ISO 8601 time');
const Target = z.object({ name: z.string(), url: z.string(), username: z.string().nullable(), insecure: z.boolean(), createdAt: time });
const Policy = z.object({
  name: z.string(),
  target: z.string(),
  direction: z.enum(['push', 'pull']),
  repositories: z.array(z.string()),
  tags: z.array(z.string()),
  trigger: z.enum(['event', 'manual', 'cron']),
  schedule: z.string().nullable(),
  options: z.record(z.string(), z.unknown()),
  enabled: z.boolean(),
  createdAt: time,
});
const Item = z.object({ artifact: z.string(), digest: z.string().nullable(), status: z.enum(['copied', 'skipped', 'failed', 'deleted']), bytes: z.number().int(), error: z.string().nullable(), at: time });
const Run = z.object({
  id: z.number().int(),
  policy: z.string(),
  trigger: z.string(),
  scope: z.object({ repository: z.string(), reference: z.string(), deleted: z.boolean().optional() }).nullable(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  startedAt: time,
  finishedAt: time.nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  results: z.array(Item).optional().describe('The result of every artifact of the run.'),
});
const PolicyDetail = Policy.extend({ runs: z.array(Run) });
const CreateTarget = z.strictObject({ name: z.string().min(1).max(64), url: z.string().min(1).max(2048), username: z.string().max(256).optional(), password: z.string().max(4096).optional(), insecure: z.boolean().optional() });
const Patterns = z.array(z.string().min(1).max(256)).min(1).max(100);
const CreatePolicy = z.strictObject({
  name: z.string().min(1).max(64),
  target: z.string().min(1),
  direction: z.enum(['push', 'pull']),
  repositories: Patterns,
  tags: Patterns.optional(),
  trigger: z.enum(['event', 'manual', 'cron']),
  schedule: z.string().max(100).optional(),
  platforms: z.array(z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/)).optional(),
  referrers: z.boolean().optional(),
  deletes: z.boolean().optional(),
  enabled: z.boolean().optional(),
});

function runId(request: FastifyRequest): number {
  const v = params(request).id!;
  if (!/^\d{1,15}$/.test(v)) throw new ProblemError('INVALID', 'id must be a number');
  return Number(v);
}

const base = { action: 'replication.manage' as const, resource: systemResource };

export const replicationRoutes: ApiRoute[] = [
  {
    ...base,
    method: 'GET',
    url: '/replication/targets',
    summary: 'Replication targets (their passwords are never returned).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: z.object({ items: z.array(Target), next: z.string().nullable() }),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.replication.targets(), parseLimit(q.limit, 100, 1000), q.cursor);
    },
  },
  {
    ...base,
    method: 'POST',
    url: '/replication/targets',
    summary: 'Add a registry to replicate to or from (Basic credentials, also used for token auth).',
    body: CreateTarget,
    query: null,
    response: Target,
    status: 201,
    audit: 'replication.target.create',
    async handle(request, reply, s) {
      const r = await s.replication.createTarget(request.principal, body(CreateTarget, request), request.ip);
      reply.code(201);
      return r;
    },
  },
  {
    ...base,
    method: 'DELETE',
    url: '/replication/targets/:name',
    summary: 'Remove a target no policy uses.',
    body: null,
    query: null,
    response: null,
    audit: 'replication.target.delete',
    async handle(request, reply, s) {
      await s.replication.deleteTarget(request.principal, params(request).name!, request.ip);
      reply.code(204);
      return null;
    },
  },
  {
    ...base,
    method: 'GET',
    url: '/replication/policies',
    summary: 'Replication policies.',
    body: null,
    query: queryOf(LIST_QUERY),
    response: z.object({ items: z.array(Policy), next: z.string().nullable() }),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.replication.policies(), parseLimit(q.limit, 100, 1000), q.cursor);
    },
  },
  {
    ...base,
    method: 'POST',
    url: '/replication/policies',
    summary: 'Add a policy: push (here to there) or pull (there to here), by repository and tag patterns, on events, a cron schedule or by hand.',
    body: CreatePolicy,
    query: null,
    response: Policy,
    status: 201,
    audit: 'replication.policy.create',
    async handle(request, reply, s) {
      const r = await s.replication.createPolicy(request.principal, body(CreatePolicy, request), request.ip);
      reply.code(201);
      return r;
    },
  },
  {
    ...base,
    method: 'GET',
    url: '/replication/policies/:name',
    summary: 'A policy with its latest runs.',
    body: null,
    query: null,
    response: PolicyDetail,
    audit: null,
    async handle(request, _reply, s) {
      return s.replication.policy(params(request).name!);
    },
  },
  {
    ...base,
    method: 'DELETE',
    url: '/replication/policies/:name',
    summary: 'Remove a policy (its run history stays).',
    body: null,
    query: null,
    response: null,
    audit: 'replication.policy.delete',
    async handle(request, reply, s) {
      await s.replication.deletePolicy(request.principal, params(request).name!, request.ip);
      reply.code(204);
      return null;
    },
  },
  {
    ...base,
    method: 'POST',
    url: '/replication/policies/:name/runs',
    summary: 'Run a policy now; the run goes through the job queue.',
    body: null,
    query: null,
    response: z.object({ id: z.number().int() }),
    status: 202,
    audit: 'replication.run',
    async handle(request, reply, s) {
      const r = await s.replication.startRun(request.principal, params(request).name!, request.ip);
      reply.code(202);
      return r;
    },
  },
  {
    ...base,
    method: 'GET',
    url: '/replication/runs/:id',
    summary: 'A run: status, counts, and the result of every artifact.',
    body: null,
    query: null,
    response: Run,
    audit: null,
    async handle(request, _reply, s) {
      return s.replication.run(runId(request));
    },
  },
  {
    ...base,
    method: 'POST',
    url: '/replication/runs/:id/cancel',
    summary: 'Cancel a queued or running run (it stops within about a second).',
    body: null,
    query: null,
    response: Run,
    audit: 'replication.cancel',
    async handle(request, _reply, s) {
      return s.replication.cancel(request.principal, runId(request), request.ip);
    },
  },
];
