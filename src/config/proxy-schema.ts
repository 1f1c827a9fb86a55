/**
 * The `proxy` section: upstream registries served as pull-through caches, each as a project
 * of its own name, and which of them answers transparent-mirror requests (`?ns=` from
 * containerd, bare paths from Docker's `registry-mirrors`).
 */
import { z } from 'zod';

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export const upstreamSchema = z.strictObject({
  name: z.string().regex(NAME, 'expected a project name (lower-case letters, digits, . _ -)').describe('The project that serves this upstream: `<name>/library/alpine:3.20` pulls `library/alpine:3.20` from it.'),
  url: z.string().url().describe('Base URL of the upstream registry, e.g. https://registry-1.docker.io (any OCI Distribution registry, another Berth included).'),
  mirrorOf: z.array(z.string().min(1)).default([]).describe('Registries this upstream mirrors (e.g. docker.io): requests carrying `?ns=<registry>` are served from it.'),
  username: z.string().default('').describe('User name for the upstream (Basic, or the Docker token flow); empty: anonymous.'),
  password: z.string().default('').describe('Password or token for the upstream; never returned by the API or logged.'),
  public: z.boolean().default(false).describe('Create the project as public (anyone may pull, as a transparent mirror for anonymous clients needs) when it does not exist yet; an existing project keeps its setting.'),
  tagTtlSeconds: z.number().int().min(0).default(300).describe('A cached tag is revalidated with a HEAD to the upstream once it is older than this (digests never expire).'),
  timeoutSeconds: z.number().min(0.1).default(30).describe('Time allowed for the upstream to answer with headers; longer counts as a failure (cached content is then served stale).'),
  cacheMaxAgeDays: z.number().min(0).default(0).describe('Cached images not pulled for this many days may be evicted (0: no age limit).'),
  cacheMaxBytes: z.number().int().min(0).default(0).describe('Cache size above which the least recently pulled images are evicted (0: no size limit).'),
});

export type UpstreamConfig = z.infer<typeof upstreamSchema>;

export const proxySchema = z
  .strictObject({
    defaultMirror: z.string().optional().describe('The upstream that serves pull paths whose first segment is not a local project (Docker `registry-mirrors`). Unset: such paths are not proxied.'),
    downBackoffSeconds: z.number().min(0).default(30).describe('Longest time an upstream that failed (network error, timeout, 5xx, 429) is treated as down; it starts at 1 s and doubles with each failure. While down, cached content is served without asking it.'),
    evictionIntervalSeconds: z.number().int().min(0).default(3600).describe('How often each upstream with a cacheMaxAgeDays or cacheMaxBytes is offered an eviction job (0: never; eviction can also be run through the API).'),
    upstreams: z.array(upstreamSchema).default([]).describe('Upstream registries, each served as a read-only project of its name.'),
  })
  .prefault({})
  .superRefine((p, ctx) => {
    const names = new Set<string>();
    for (const u of p.upstreams) {
      if (names.has(u.name)) ctx.addIssue({ code: 'custom', message: `upstream name ${u.name} appears twice`, path: ['upstreams'] });
      names.add(u.name);
    }
    if (p.defaultMirror !== undefined && !names.has(p.defaultMirror)) ctx.addIssue({ code: 'custom', message: `defaultMirror ${p.defaultMirror} names no upstream`, path: ['defaultMirror'] });
  })
  .describe('Pull-through caches of upstream registries (read-only projects), and transparent mirroring.');

export type ProxyConfig = z.infer<typeof proxySchema>;
