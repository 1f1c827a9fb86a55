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
}

/** How long a "is this a local project" answer is reused by default-mirror routing. */
const PROJECT_CHECK_MS = 10_000;

export async function createProxy(config: ProxyConfig, db: Kysely<Database>, core: RegistryServices, auth: AuthStore, logger: Logger, now: () => number = Date.now): Promise<Proxy> {
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
  return { upstreams, stats, cache, pull, registry: proxyRegistry(core, pull, config, isLocalProject) };
}
