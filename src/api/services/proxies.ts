/**
 * The pull-through caches as the management API sees them: each upstream with its settings
 * (never its password), health, cache size and counters; preheat requests (a job each, with
 * progress on the request); and eviction on demand. Upstreams themselves are configured in
 * the `proxy` section of the configuration.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../../audit/audit-log.js';
import { ProblemError } from '../../errors/problem.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { PreheatRecord } from '../../metadata/proxy-store.js';
import type { MetadataStore } from '../../metadata/store.js';
import { principalName, type Principal } from '../../policy/principal.js';
import type { EvictionReport } from '../../proxy/eviction.js';
import { parseImageReference } from '../../proxy/preheat.js';
import type { Proxy } from '../../proxy/setup.js';
import type { UpstreamCounters } from '../../proxy/stats.js';
import type { UpstreamClient } from '../../proxy/upstream-client.js';
import { OciError } from '../../errors/oci.js';
import { ConflictError, NotFoundError } from '../../errors/store.js';
import { ZodError } from 'zod';

export interface UpstreamView {
  name: string;
  /** Where it was declared: the configuration file, or the API (only those can be deleted). */
  source: 'config' | 'api';
  url: string;
  mirrorOf: string[];
  defaultMirror: boolean;
  username: string;
  hasPassword: boolean;
  tagTtlSeconds: number;
  cacheMaxAgeDays: number;
  cacheMaxBytes: number;
  health: { up: boolean; lastError: string | null; retryAt: string | null; consecutiveFailures: number };
  cache: { bytes: number; blobs: number; manifests: number };
  stats: UpstreamCounters & { hitRatio: number | null };
}

export interface PreheatView {
  id: string;
  upstream: string;
  references: string[];
  status: PreheatRecord['status'];
  done: number;
  failed: number;
  blobs: number;
  bytes: number;
  errors: string[];
  createdAt: string;
  updatedAt: string;
}

const preheatView = (p: PreheatRecord): PreheatView => ({ ...p, createdAt: new Date(p.createdAt).toISOString(), updatedAt: new Date(p.updatedAt).toISOString() });

export class ProxyAdminService {
  constructor(
    private readonly proxy: Proxy,
    private readonly defaultMirror: string | undefined,
    private readonly meta: MetadataStore,
    private readonly jobs: JobQueue,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<UpstreamView[]> {
    return Promise.all([...this.proxy.upstreams.values()].map((u) => this.view(u)));
  }

  async get(name: string): Promise<UpstreamView> {
    return this.view(this.upstream(name));
  }

  /** Adds an upstream (stored, its password sealed); CONFLICT when the name is taken, INVALID on bad settings. */
  async create(caller: Principal, input: Record<string, unknown>, address: string): Promise<UpstreamView> {
    let u: UpstreamClient;
    try {
      u = await this.proxy.set.add(input);
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', e.message);
      if (e instanceof ZodError) {
        const i = e.issues[0]!;
        throw new ProblemError('INVALID', `${i.path.join('.') || 'body'}: ${i.message}`);
      }
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'proxy.create', resource: `proxy:${u.name}`, project: u.name, result: 'success', sourceAddress: address, detail: { url: u.config.url, mirrorOf: u.config.mirrorOf } });
    return this.view(u);
  }

  /** Removes an upstream added through the API (its project and cached content stay). */
  async delete(caller: Principal, name: string, address: string): Promise<void> {
    try {
      await this.proxy.set.remove(name);
    } catch (e) {
      if (e instanceof ConflictError) throw new ProblemError('CONFLICT', e.message);
      if (e instanceof NotFoundError) throw new ProblemError('NOT_FOUND', `no upstream named ${name} was added through the API`);
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'proxy.delete', resource: `proxy:${name}`, project: name, result: 'success', sourceAddress: address });
  }

  async preheat(caller: Principal, name: string, references: string[], address: string): Promise<PreheatView> {
    const u = this.upstream(name);
    for (const r of references) {
      try {
        parseImageReference(r);
      } catch (e) {
        throw new ProblemError('INVALID', `references: ${JSON.stringify(r.slice(0, 200))} is not an image reference (name:tag or name@digest): ${e instanceof OciError ? String((e.detail as { reason?: string } | undefined)?.reason ?? e.message) : (e as Error).message}`);
      }
    }
    const id = randomUUID();
    const record = await this.proxy.cache.createPreheat({ id, upstream: u.name, references }, this.now());
    try {
      await this.jobs.enqueue('proxy.preheat', { id });
    } catch (e) {
      await this.proxy.cache.deletePreheat(id).catch(() => {});
      throw e;
    }
    this.audit.record({ actor: principalName(caller), action: 'proxy.preheat', resource: `proxy:${u.name}`, project: u.name, result: 'success', sourceAddress: address, detail: { id, references: references.length } });
    return preheatView(record);
  }

  async preheatStatus(name: string, id: string): Promise<PreheatView> {
    const u = this.upstream(name);
    const p = await this.proxy.cache.getPreheat(id);
    if (!p || p.upstream !== u.name) throw new ProblemError('NOT_FOUND', `no preheat request ${id} for upstream ${name}`);
    return preheatView(p);
  }

  async evict(caller: Principal, name: string, address: string): Promise<EvictionReport> {
    const u = this.upstream(name);
    const report = await this.proxy.evictor.evict(u.config);
    this.audit.record({ actor: principalName(caller), action: 'proxy.evict', resource: `proxy:${u.name}`, project: u.name, result: 'success', sourceAddress: address, detail: report });
    return report;
  }

  private upstream(name: string): UpstreamClient {
    const u = this.proxy.upstreams.get(name);
    if (!u) throw new ProblemError('NOT_FOUND', `no upstream named ${name} (upstreams are configured in the proxy section of the configuration)`);
    return u;
  }

  private async view(u: UpstreamClient): Promise<UpstreamView> {
    const c = u.config;
    const h = u.health();
    const usage = await this.meta.usage.of({ project: u.name });
    const counted = await this.proxy.cache.count(u.name);
    return {
      name: c.name,
      source: this.proxy.set.isConfigured(c.name) ? 'config' : 'api',
      url: c.url,
      mirrorOf: c.mirrorOf,
      defaultMirror: this.defaultMirror === c.name,
      username: c.username,
      hasPassword: c.password !== '',
      tagTtlSeconds: c.tagTtlSeconds,
      cacheMaxAgeDays: c.cacheMaxAgeDays,
      cacheMaxBytes: c.cacheMaxBytes,
      health: { up: h.up, lastError: h.lastError, retryAt: h.retryAt === null ? null : new Date(h.retryAt).toISOString(), consecutiveFailures: h.consecutiveFailures },
      cache: { bytes: usage.blobBytes + counted.bytes, blobs: usage.blobs, manifests: counted.manifests },
      stats: { ...this.proxy.stats.of(c.name), hitRatio: this.proxy.stats.hitRatio(c.name) },
    };
  }
}
