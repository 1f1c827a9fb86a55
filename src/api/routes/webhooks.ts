/**
 * Webhook routes, the same set per project (`/projects/{name}/webhooks`, maintainers) and
 * system-wide (`/system/webhooks`, admins): list, create, read, change (also to enable again),
 * delete, the delivery log, redeliver, ping.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../../events/emit.js';
import { ProblemError } from '../../errors/problem.js';
import { pageOfList, parseLimit } from '../paging.js';
import { body, LIST_QUERY, params, projectResource, query, queryOf, systemResource, type ApiRoute } from '../route.js';
import type { WebhookScope } from '../services/webhooks.js';

const time = z.string().describe('ISO 8601 time');
const Format = z.enum(['cloudevents', 'harbor']);
const Webhook = z.object({ id: z.number().int(), project: z.string().nullable(), url: z.string(), events: z.array(z.string()), format: Format, enabled: z.boolean(), disabledReason: z.string().nullable(), createdAt: time });
const WebhookCreated = Webhook.extend({ secret: z.string().describe('The signing secret (Standard Webhooks `whsec_...`); shown only here.') });
const Delivery = z.object({
  id: z.number().int(),
  eventId: z.number().int().nullable(),
  event: z.string(),
  messageId: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: time.nullable(),
  responseStatus: z.number().int().nullable(),
  latencyMs: z.number().int().nullable(),
  responseExcerpt: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: time,
  updatedAt: time,
});
const Deliveries = z.object({ items: z.array(Delivery), next: z.string().nullable() });
const Events = z.array(z.enum(WEBHOOK_EVENTS)).min(1);
const Create = z.strictObject({ url: z.string().min(1).max(2048), events: Events, secret: z.string().min(16).max(256).optional(), format: Format.optional() });
const Update = z.strictObject({ url: z.string().min(1).max(2048).optional(), events: Events.optional(), secret: z.string().min(16).max(256).optional(), format: Format.optional(), enabled: z.boolean().optional() });

function idParam(request: FastifyRequest, name: string): number {
  const v = params(request)[name]!;
  if (!/^\d{1,15}$/.test(v)) throw new ProblemError('INVALID', `${name} must be a number`);
  return Number(v);
}

function routes(base: string, action: 'webhooks.manage' | 'system.manage', resource: ApiRoute['resource'], scopeOf: (r: FastifyRequest) => WebhookScope, where: string): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: base,
      action,
      resource,
      summary: `Webhooks ${where}.`,
      body: null,
      query: queryOf(LIST_QUERY),
      response: z.object({ items: z.array(Webhook), next: z.string().nullable() }),
      audit: null,
      async handle(request, _reply, s) {
        const q = query(request);
        return pageOfList(await s.webhooks.list(scopeOf(request)), parseLimit(q.limit, 100, 1000), q.cursor);
      },
    },
    {
      method: 'POST',
      url: base,
      action,
      resource,
      summary: `Subscribe a URL to events ${where}; the signing secret is in this response only.`,
      body: Create,
      query: null,
      response: WebhookCreated,
      status: 201,
      audit: 'webhook.create',
      async handle(request, reply, s) {
        const r = await s.webhooks.create(request.principal, scopeOf(request), body(Create, request), request.ip);
        reply.code(201);
        return r;
      },
    },
    {
      method: 'GET',
      url: `${base}/:id`,
      action,
      resource,
      summary: `One webhook ${where}.`,
      body: null,
      query: null,
      response: Webhook,
      audit: null,
      async handle(request, _reply, s) {
        return s.webhooks.get(scopeOf(request), idParam(request, 'id'));
      },
    },
    {
      method: 'PATCH',
      url: `${base}/:id`,
      action,
      resource,
      summary: `Change a webhook ${where}; \`enabled: true\` re-enables one that was disabled after failures.`,
      body: Update,
      query: null,
      response: Webhook,
      audit: 'webhook.update',
      async handle(request, _reply, s) {
        return s.webhooks.update(request.principal, scopeOf(request), idParam(request, 'id'), body(Update, request), request.ip);
      },
    },
    {
      method: 'DELETE',
      url: `${base}/:id`,
      action,
      resource,
      summary: `Delete a webhook ${where} with its delivery log.`,
      body: null,
      query: null,
      response: null,
      audit: 'webhook.delete',
      async handle(request, reply, s) {
        await s.webhooks.delete(request.principal, scopeOf(request), idParam(request, 'id'), request.ip);
        reply.code(204);
        return null;
      },
    },
    {
      method: 'GET',
      url: `${base}/:id/deliveries`,
      action,
      resource,
      summary: 'The delivery log of a webhook, newest first: status, attempts, response status, latency and an excerpt of the answer.',
      body: null,
      query: queryOf({ limit: true, cursor: true }),
      response: Deliveries,
      audit: null,
      async handle(request, _reply, s) {
        const q = query(request);
        const limit = parseLimit(q.limit, 50, 500);
        if (q.cursor !== undefined && !/^\d{1,15}$/.test(q.cursor)) throw new ProblemError('INVALID', 'cursor must be the `next` of a previous page');
        const rows = await s.webhooks.deliveries(scopeOf(request), idParam(request, 'id'), q.cursor === undefined ? undefined : Number(q.cursor), limit + 1);
        const items = rows.slice(0, limit);
        return { items, next: rows.length > limit ? String(items.at(-1)!.id) : null };
      },
    },
    {
      method: 'POST',
      url: `${base}/:id/deliveries/:delivery/redeliver`,
      action,
      resource,
      summary: 'Send a logged delivery again (same body and webhook-id), after the pending ones.',
      body: null,
      query: null,
      response: Delivery,
      status: 202,
      audit: 'webhook.redeliver',
      async handle(request, reply, s) {
        const r = await s.webhooks.redeliver(request.principal, scopeOf(request), idParam(request, 'id'), idParam(request, 'delivery'), request.ip);
        reply.code(202);
        return r;
      },
    },
    {
      method: 'POST',
      url: `${base}/:id/ping`,
      action,
      resource,
      summary: 'Send a test event (`berth.ping`) to the webhook.',
      body: null,
      query: null,
      response: Delivery,
      status: 202,
      audit: 'webhook.ping',
      async handle(request, reply, s) {
        const r = await s.webhooks.ping(request.principal, scopeOf(request), idParam(request, 'id'), request.ip);
        reply.code(202);
        return r;
      },
    },
  ];
}

export const webhookRoutes: ApiRoute[] = [
  ...routes('/projects/:name/webhooks', 'webhooks.manage', projectResource, (r) => params(r).name!, 'of a project'),
  ...routes('/system/webhooks', 'system.manage', systemResource, () => null, 'of the whole registry'),
];
