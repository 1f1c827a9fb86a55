/** `/proxies`: the pull-through caches (health, size, counters), preheat requests and their progress, eviction. */
import { z } from 'zod';
import { pageOfList, parseLimit } from '../paging.js';
import { pageOf } from '../schemas.js';
import { body, LIST_QUERY, params, query, queryOf, systemResource, type ApiRoute } from '../route.js';

const Health = z.object({ up: z.boolean(), lastError: z.string().nullable(), retryAt: z.string().nullable(), consecutiveFailures: z.number().int() });
export const Upstream = z.object({
  name: z.string(),
  source: z.enum(['config', 'api']),
  url: z.string(),
  mirrorOf: z.array(z.string()),
  defaultMirror: z.boolean(),
  username: z.string(),
  hasPassword: z.boolean(),
  tagTtlSeconds: z.number().int(),
  cacheMaxAgeDays: z.number(),
  cacheMaxBytes: z.number().int(),
  health: Health,
  cache: z.object({ bytes: z.number().int(), blobs: z.number().int(), manifests: z.number().int() }),
  stats: z.object({
    upstreamRequests: z.number().int(),
    manifestHits: z.number().int(),
    manifestMisses: z.number().int(),
    blobHits: z.number().int(),
    blobMisses: z.number().int(),
    staleServed: z.number().int(),
    tagsChanged: z.number().int(),
    bytesFromUpstream: z.number().int(),
    bytesFromCache: z.number().int(),
    verifyFailures: z.number().int(),
    hitRatio: z.number().nullable(),
  }),
});
export const Preheat = z.object({
  id: z.string(),
  upstream: z.string(),
  references: z.array(z.string()),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  done: z.number().int(),
  failed: z.number().int(),
  blobs: z.number().int(),
  bytes: z.number().int(),
  errors: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const Eviction = z.object({ upstream: z.string(), manifestsEvicted: z.number().int(), blobsUnlinked: z.number().int(), bytesBefore: z.number().int(), bytesAfter: z.number().int() });

const CreateBody = z.strictObject({
  name: z.string().min(1).max(64),
  url: z.string().min(1).max(2048),
  mirrorOf: z.array(z.string().min(1).max(255)).max(50).optional(),
  username: z.string().max(256).optional(),
  password: z.string().max(4096).optional(),
  public: z.boolean().optional(),
  tagTtlSeconds: z.number().int().min(0).optional(),
  timeoutSeconds: z.number().min(0.1).optional(),
  cacheMaxAgeDays: z.number().min(0).optional(),
  cacheMaxBytes: z.number().int().min(0).optional(),
});

const PreheatBody = z.strictObject({ references: z.array(z.string().min(1).max(512)).min(1).max(1000) });

export const proxyRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/proxies',
    action: 'signedIn',
    resource: systemResource,
    summary: 'The pull-through caches: each upstream with its health, cache size and counters (never its password).',
    body: null,
    query: queryOf(LIST_QUERY),
    response: pageOf(Upstream),
    audit: null,
    async handle(request, _reply, s) {
      const q = query(request);
      return pageOfList(await s.proxies.list(), parseLimit(q.limit, 100, 1000), q.cursor);
    },
  },
  {
    method: 'POST',
    url: '/proxies',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Add an upstream registry, served as a read-only project of its name; its password is stored sealed and never returned.',
    body: CreateBody,
    query: null,
    response: Upstream,
    status: 201,
    audit: 'proxy.create',
    async handle(request, reply, s) {
      const r = await s.proxies.create(request.principal, body(CreateBody, request), request.ip);
      reply.code(201);
      return r;
    },
  },
  {
    method: 'DELETE',
    url: '/proxies/:name',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Remove an upstream added through the API (its project and cached content stay until deleted).',
    body: null,
    query: null,
    response: null,
    audit: 'proxy.delete',
    async handle(request, reply, s) {
      await s.proxies.delete(request.principal, params(request).name!, request.ip);
      reply.code(204);
      return null;
    },
  },
  {
    method: 'GET',
    url: '/proxies/:name',
    action: 'signedIn',
    resource: systemResource,
    summary: 'One pull-through cache.',
    body: null,
    query: null,
    response: Upstream,
    audit: null,
    async handle(request, _reply, s) {
      return s.proxies.get(params(request).name!);
    },
  },
  {
    method: 'POST',
    url: '/proxies/:name/preheat',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Fetch images into the cache ahead of time (a background job); poll the returned request for progress.',
    body: PreheatBody,
    query: null,
    response: Preheat,
    status: 202,
    audit: 'proxy.preheat',
    async handle(request, reply, s) {
      const r = await s.proxies.preheat(request.principal, params(request).name!, body(PreheatBody, request).references, request.ip);
      reply.code(202);
      return r;
    },
  },
  {
    method: 'GET',
    url: '/proxies/:name/preheat/:id',
    action: 'signedIn',
    resource: systemResource,
    summary: 'A preheat request and its progress.',
    body: null,
    query: null,
    response: Preheat,
    audit: null,
    async handle(request, _reply, s) {
      const { name, id } = params(request) as { name: string; id: string };
      return s.proxies.preheatStatus(name, id);
    },
  },
  {
    method: 'POST',
    url: '/proxies/:name/evict',
    action: 'system.manage',
    resource: systemResource,
    summary: "Apply the upstream's eviction policy now (cacheMaxAgeDays, cacheMaxBytes; least recently pulled first); GC reclaims the bytes.",
    body: null,
    query: null,
    response: Eviction,
    audit: 'proxy.evict',
    async handle(request, _reply, s) {
      return s.proxies.evict(request.principal, params(request).name!, request.ip);
    },
  },
];
