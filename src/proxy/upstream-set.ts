/**
 * The upstreams this node serves: those of the configuration (fixed for the process's life)
 * and those added through the API, stored in `proxy_upstreams` with the password sealed by the
 * same key-encryption key as the token signing keys (never returned, never logged). A node
 * picks up upstreams another node added or removed when it reloads (`reloadMs`, and at once
 * on the node that made the change). Adding one creates its project when missing.
 */
import type { Logger } from 'pino';
import { upstreamSchema, type ProxyConfig, type UpstreamConfig } from '../config/proxy-schema.js';
import { ConflictError, NotFoundError } from '../errors/store.js';
import type { KeySealer } from '../auth/key-sealing.js';
import type { AuthStore } from '../metadata/auth-store.js';
import type { ProxyUpstreamQueries } from '../metadata/proxy-store.js';
import { UpstreamClient } from './upstream-client.js';

export class UpstreamSet {
  readonly clients = new Map<string, UpstreamClient>();
  private readonly configured = new Set<string>();

  constructor(
    private readonly config: ProxyConfig,
    private readonly store: ProxyUpstreamQueries,
    private readonly sealer: KeySealer,
    private readonly auth: AuthStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    for (const u of config.upstreams) {
      this.clients.set(u.name, this.client(u));
      this.configured.add(u.name);
    }
  }

  /** Whether `name` comes from the configuration (not removable through the API). */
  isConfigured(name: string): boolean {
    return this.configured.has(name);
  }

  /** The upstream that mirrors registry `ns` (`?ns=docker.io`), if any. */
  mirrorFor(ns: string): string | undefined {
    for (const c of this.clients.values()) if (c.config.mirrorOf.includes(ns)) return c.name;
    return undefined;
  }

  /** Makes sure each configured upstream's project exists. */
  async init(): Promise<void> {
    for (const u of this.config.upstreams) await this.ensureProject(u);
    await this.reload();
  }

  /** Adds upstreams stored since the last reload and drops those deleted (configured ones stay). */
  async reload(): Promise<void> {
    const stored = await this.store.list();
    const names = new Set(stored.map((s) => s.name));
    for (const s of stored) {
      if (this.configured.has(s.name) || this.clients.has(s.name)) continue;
      const parsed = upstreamSchema.safeParse({ ...s.settings, name: s.name, password: s.passwordSealed ? this.sealer.open(s.passwordSealed) : '' });
      if (!parsed.success) {
        this.logger.warn({ upstream: s.name, issue: parsed.error.issues[0]?.message }, 'a stored upstream is unreadable; skipped');
        continue;
      }
      this.clients.set(s.name, this.client(parsed.data));
    }
    for (const name of [...this.clients.keys()]) if (!this.configured.has(name) && !names.has(name)) this.clients.delete(name);
  }

  /** Stores a new upstream (validated by the configuration's schema). Throws ConflictError when the name is taken. */
  async add(input: unknown): Promise<UpstreamClient> {
    const u = upstreamSchema.parse(input);
    if (this.clients.has(u.name) || this.configured.has(u.name)) throw new ConflictError(`upstream ${u.name} exists`);
    if ((await this.auth.projects.repositoryCount(u.name)) > 0) throw new ConflictError(`project ${u.name} holds repositories; a cache needs a project of its own`);
    const { password, ...settings } = u;
    await this.store.insert({ name: u.name, settings: { ...settings, name: undefined }, passwordSealed: password ? this.sealer.seal(password) : '', createdAt: this.now() });
    await this.ensureProject(u);
    const c = this.client(u);
    this.clients.set(u.name, c);
    return c;
  }

  /** Removes a stored upstream (its project and cached content stay until deleted). */
  async remove(name: string): Promise<void> {
    if (this.configured.has(name)) throw new ConflictError(`upstream ${name} is in the configuration file; remove it there`);
    if (!(await this.store.delete(name))) throw new NotFoundError(`upstream ${name}`);
    this.clients.delete(name);
  }

  private client(u: UpstreamConfig): UpstreamClient {
    return new UpstreamClient(u, this.config.downBackoffSeconds * 1000, this.now);
  }

  private async ensureProject(u: UpstreamConfig): Promise<void> {
    if (await this.auth.projects.get(u.name)) return;
    try {
      await this.auth.projects.insert({ name: u.name, public: u.public }, this.now());
      this.logger.info({ upstream: u.name, url: u.url }, 'created the project of a pull-through cache');
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }
}
