/**
 * Builds the pull-through cache from the `proxy` configuration: one UpstreamClient per
 * upstream, the shared counters, the cache over the metadata database, and the decorated
 * registry services. Each upstream's project is created on start when missing (public when
 * the upstream says so), so that permissions, quotas and the UI treat it as any project.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/proxy-schema.js';
import { ConflictError } from '../errors/store.js';
import type { AuthStore } from '../metadata/auth-store.js';
import { SqlProxyCache } from '../metadata/sql/proxy-cache.js';
import type { Database } from '../metadata/tables.js';
import type { RegistryServices } from '../registry/services.js';
import type { OfferJob, ProxyJobs } from '../jobs/kinds.js';
import type { MetadataStore } from '../metadata/store.js';
import { Evictor } from './eviction.js';
import { Preheater } from './preheat.js';
import { proxyRegistry } from './proxy-registry.js';
import { PullThrough } from './pull-through.js';
import { ProxyStats } from './stats.js';
import { UpstreamClient } from './upstream-client.js';

export interface Proxy {
  upstreams: ReadonlyMap<string, UpstreamClient>;
  stats: ProxyStats;
  cache: SqlProxyCache;
  pull: PullThrough;
  /** The registry services with proxy projects served through the cache. */
  registry: RegistryServices;
  evictor: Evictor;
  /** What the job kinds call. */
  jobs: ProxyJobs;
  /** Offers an eviction job per upstream with a policy every `evictionIntervalSeconds`; returns the stop function. */
  scheduleEviction(offer: OfferJob): () => void;
}

/** How long a "is this a local project" answer is reused by default-mirror routing. */
const PROJECT_CHECK_MS = 10_000;

export async function createProxy(config: ProxyConfig, meta: MetadataStore, db: Kysely<Database>, core: RegistryServices, auth: AuthStore, logger: Logger, now: () => number = Date.now): Promise<Proxy> {
  const upstreams = new Map(config.upstreams.map((u) => [u.name, new UpstreamClient(u, config.downBackoffSeconds * 1000, now)]));
  for (const u of config.upstreams) {
    if (await auth.projects.get(u.name)) continue;
    try {
      await auth.projects.insert({ name: u.name, public: u.public }, now());
      logger.info({ upstream: u.name, url: u.url }, 'created the project of a pull-through cache');
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }
  const stats = new ProxyStats();
  const cache = new SqlProxyCache(db);
  const pull = new PullThrough(upstreams, cache, core, stats, now);
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
  const scheduleEviction = (offer: OfferJob) => {
    if (config.evictionIntervalSeconds <= 0) return () => {};
    const timer = setInterval(() => {
      for (const u of config.upstreams) {
        if (u.cacheMaxAgeDays > 0 || u.cacheMaxBytes > 0) void offer('proxy.evict', { upstream: u.name }, `proxy.evict:${u.name}`).catch((e: unknown) => logger.warn({ err: e, upstream: u.name }, 'could not offer a cache eviction job'));
      }
    }, config.evictionIntervalSeconds * 1000);
    timer.unref();
    return () => clearInterval(timer);
  };
  return { upstreams, stats, cache, pull, registry: proxyRegistry(core, pull, config, isLocalProject), evictor, jobs, scheduleEviction };
}
