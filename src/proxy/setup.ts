/**
 * Builds the pull-through cache: the upstreams (configuration and API), the shared counters,
 * the cache over the metadata database, preheat and eviction, and the decorated registry
 * services. Each upstream's project is created when missing (public when the upstream says
 * so), so that permissions, quotas and the UI treat it as any project.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { KeySealer } from '../auth/key-sealing.js';
import type { ProxyConfig } from '../config/proxy-schema.js';
import type { OfferJob, ProxyJobs } from '../jobs/kinds.js';
import type { AuthStore } from '../metadata/auth-store.js';
import { SqlProxyCache, SqlProxyUpstreams } from '../metadata/sql/proxy-cache.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Database } from '../metadata/tables.js';
import type { RegistryServices } from '../registry/services.js';
import type { WritePolicy } from '../policy/write-policy.js';
import { Evictor } from './eviction.js';
import { Preheater } from './preheat.js';
import { proxyRegistry } from './proxy-registry.js';
import { PullThrough } from './pull-through.js';
import { ProxyStats } from './stats.js';
import type { UpstreamClient } from './upstream-client.js';
import { UpstreamSet } from './upstream-set.js';

export interface Proxy {
  upstreams: ReadonlyMap<string, UpstreamClient>;
  /** Adds and removes upstreams through the API. */
  set: UpstreamSet;
  stats: ProxyStats;
  cache: SqlProxyCache;
  pull: PullThrough;
  /** The registry services with proxy projects served through the cache. */
  registry: RegistryServices;
  evictor: Evictor;
  /** What the job kinds call. */
  jobs: ProxyJobs;
  /**
   * Starts the timers: an eviction job offered per upstream with a policy every
   * `evictionIntervalSeconds`, and reloads of API-added upstreams. Returns the stop function.
   */
  start(offer: OfferJob): () => void;
}

/** How long a "is this a local project" answer is reused by default-mirror routing. */
const PROJECT_CHECK_MS = 10_000;
/** How often a node picks up upstreams other nodes added or removed. */
const RELOAD_MS = 10_000;

export async function createProxy(config: ProxyConfig, meta: MetadataStore, db: Kysely<Database>, core: RegistryServices, policy: WritePolicy, auth: AuthStore, sealer: KeySealer, logger: Logger, now: () => number = Date.now): Promise<Proxy> {
  const set = new UpstreamSet(config, new SqlProxyUpstreams(db), sealer, auth, logger, now);
  await set.init();
  const upstreams = set.clients;
  const stats = new ProxyStats();
  const cache = new SqlProxyCache(db);
  const pull = new PullThrough(upstreams, cache, core, stats, now, policy);
  const known = new Map<string, { local: boolean; at: number }>();
  const isLocalProject = async (name: string): Promise<boolean> => {
    const hit = known.get(name);
    if (hit && now() - hit.at < PROJECT_CHECK_MS) return hit.local;
    const local = (await auth.projects.get(name)) !== undefined || (await auth.projects.repositoryCount(name)) > 0;
    if (known.size > 10_000) known.clear();
    known.set(name, { local, at: now() });
    return local;
  };
  const preheater = new Preheater(pull, upstreams, cache, now);
  const evictor = new Evictor(meta, cache, now);
  const jobs: ProxyJobs = {
    preheat: (id, signal) => preheater.run(id, signal),
    async evict(name) {
      const u = upstreams.get(name);
      if (!u) throw new Error(`upstream ${name} is not configured on this node`);
      return { ...(await evictor.evict(u.config)) };
    },
  };
  const start = (offer: OfferJob) => {
    const timers: NodeJS.Timeout[] = [];
    timers.push(setInterval(() => void set.reload().catch((e: unknown) => logger.warn({ err: e }, 'could not reload the stored upstreams')), RELOAD_MS));
    if (config.evictionIntervalSeconds > 0) {
      timers.push(
        setInterval(() => {
          for (const u of upstreams.values()) {
            const c = u.config;
            if (c.cacheMaxAgeDays > 0 || c.cacheMaxBytes > 0) void offer('proxy.evict', { upstream: c.name }, `proxy.evict:${c.name}`).catch((e: unknown) => logger.warn({ err: e, upstream: c.name }, 'could not offer a cache eviction job'));
          }
        }, config.evictionIntervalSeconds * 1000),
      );
    }
    for (const t of timers) t.unref();
    return () => timers.forEach(clearInterval);
  };
  return { upstreams, set, stats, cache, pull, registry: proxyRegistry(core, pull, config, (ns) => set.mirrorFor(ns), isLocalProject), evictor, jobs, start };
}
