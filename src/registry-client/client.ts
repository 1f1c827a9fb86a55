/**
 * A client of another OCI registry (Distribution API v2 / OCI 1.1), shared by the pull-through
 * cache (its upstreams) and replication (its targets and sources): authentication as the
 * registry asks for it, over the node:http transport in http.ts.
 *
 * Authentication follows the registry's `WWW-Authenticate` challenge on a 401:
 * - `Basic`: the configured credentials, sent with every later request (when there are none,
 *   the 401 stands).
 * - `Bearer realm=...,service=...,scope=...` (the Docker token flow): a GET to the realm with
 *   the service and each challenged scope, with the credentials as Basic when there are any
 *   (anonymous otherwise). Tokens are cached per scope until shortly before the registry said
 *   they expire (60 s when it did not say), and concurrent requests needing the same token
 *   make one token request (single flight).
 * Once a registry has challenged, later requests send credentials at once: the token of the
 * scope last granted for the repository (a push scope after a push, else `pull`), so a pull
 * costs one round trip. A request whose preemptive token is refused is answered once more
 * with a fresh token. A streamed request body cannot be sent twice: a 401 on one is an error
 * (uploads start with a POST that authenticates first).
 *
 * Redirects of GET and HEAD (a blob served from object storage or a CDN) are followed up to
 * three hops; credentials go only to the registry's own origin.
 */
import type { Readable } from 'node:stream';
import { discard, header, readBytes, readText, RemoteUnreachable, send, type RemoteResponse } from './http.js';

export { discard, header, readBytes, readText, RemoteUnreachable, type RemoteResponse } from './http.js';

export interface RegistryClientOptions {
  /** Base URL, e.g. https://registry-1.docker.io (a path prefix is kept). */
  url: string;
  username?: string | null;
  password?: string | null;
  /** Accept a TLS certificate that does not verify. */
  insecure?: boolean;
  /** Time allowed for a response's headers; 0: no limit. */
  headersTimeoutMs?: number;
  now?: () => number;
}

/** The token service refused or failed; `status` is its HTTP status. */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  /** The repository the request is about (its token scope); undefined for the catalog or /v2/. */
  repo?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** A URL to use instead of `path` (an upload's Location). */
  absolute?: URL;
}

type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined };

/** `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`; undefined for anything else. */
export function parseChallenge(value: string | null | undefined): Challenge | undefined {
  if (!value) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(value);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  if (!params.realm) return undefined;
  return { scheme: 'bearer', realm: params.realm, service: params.service, scope: params.scope };
}

/** Tokens are renewed this long before the registry said they expire. */
const TOKEN_MARGIN_MS = 10_000;
const MAX_REDIRECTS = 3;

export class RegistryClient {
  readonly base: URL;
  private readonly now: () => number;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly tokenFlights = new Map<string, Promise<string>>();
  /** The scope last granted per repository ('' for requests about none). */
  private readonly scopes = new Map<string, string>();
  /** What the registry asked for last time, so later requests send credentials at once. */
  private challenge: Challenge | undefined;
  /** Requests sent (token requests included), and token requests alone, for tests and stats. */
  requests = 0;
  tokenRequests = 0;

  constructor(private readonly opts: RegistryClientOptions) {
    this.base = new URL(opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    this.now = opts.now ?? Date.now;
  }

  /** host[:port] of the registry, for messages. */
  get host(): string {
    return this.base.host;
  }

  /**
   * Sends `method` to `path` (relative to the base URL, e.g. `v2/library/alpine/manifests/3.20`),
   * authenticated as the registry asks. Resolves with the response whatever its status (a 401
   * that credentials could not answer included); rejects with RemoteUnreachable (network,
   * timeout), TokenError (the token service refused) or the signal's reason.
   */
  async request(method: string, path: string, o: RequestOptions = {}): Promise<RemoteResponse> {
    const url = o.absolute ?? new URL(path.replace(/^\//, ''), this.base);
    const key = o.repo ?? '';
    const scope = this.scopes.get(key) ?? (o.repo ? `repository:${o.repo}:pull` : 'registry:catalog:*');
    const sent = await this.credentials(scope, o.signal);
    let res = await this.follow(method, url, { ...o.headers, ...sent }, o);
    if (res.status !== 401) return res;
    const asked = parseChallenge(header(res, 'www-authenticate'));
    if (!asked) return res;
    if (asked.scheme === 'basic' && (!this.hasCredentials() || sent.authorization?.startsWith('Basic '))) return res;
    if (o.body !== undefined && !Buffer.isBuffer(o.body)) {
      await discard(res);
      throw new TokenError(`${this.host} asked for authentication in the middle of an upload`, 401);
    }
    await discard(res);
    this.challenge = asked;
    let wanted = scope;
    if (asked.scheme === 'bearer') {
      wanted = asked.scope ?? scope;
      this.scopes.set(key, wanted);
      // The token just sent was refused (revoked, or expired early): get another.
      if (sent.authorization === `Bearer ${this.tokens.get(wanted)?.token}`) this.tokens.delete(wanted);
    }
    res = await this.follow(method, url, { ...o.headers, ...(await this.credentials(wanted, o.signal)) }, o);
    return res;
  }

  private hasCredentials(): boolean {
    return !!(this.opts.username || this.opts.password);
  }

  private basic(): Record<string, string> {
    if (!this.hasCredentials()) return {};
    return { authorization: `Basic ${Buffer.from(`${this.opts.username ?? ''}:${this.opts.password ?? ''}`).toString('base64')}` };
  }

  private async credentials(scope: string, signal: AbortSignal | undefined): Promise<Record<string, string>> {
    const c = this.challenge;
    if (!c) return {};
    if (c.scheme === 'basic') return this.basic();
    return { authorization: `Bearer ${await this.token(c.realm, c.service, scope, signal)}` };
  }

  /** Sends, following GET/HEAD redirects; credentials only to the registry's own origin. */
  private async follow(method: string, url: URL, headers: Record<string, string | number>, o: RequestOptions): Promise<RemoteResponse> {
    let res = await this.raw(method, url, headers, o.body, o.signal);
    let at = url;
    for (let hops = 0; (method === 'GET' || method === 'HEAD') && res.status >= 300 && res.status < 400 && res.status !== 304 && header(res, 'location') && hops < MAX_REDIRECTS; hops++) {
      await discard(res);
      at = new URL(header(res, 'location')!, at);
      const { authorization: _dropped, ...rest } = headers;
      res = await this.raw(method, at, at.origin === this.base.origin ? headers : rest, undefined, o.signal);
    }
    return res;
  }

  private raw(method: string, url: URL, headers: Record<string, string | number>, body: Buffer | Readable | undefined, signal: AbortSignal | undefined): Promise<RemoteResponse> {
    this.requests++;
    return send(method, url, {
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(signal ? { signal } : {}),
      insecure: this.opts.insecure ?? false,
      headersTimeoutMs: this.opts.headersTimeoutMs ?? 0,
    });
  }

  private async token(realm: string, service: string | undefined, scope: string, signal: AbortSignal | undefined): Promise<string> {
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    let flight = this.tokenFlights.get(scope);
    if (!flight) {
      flight = this.fetchToken(realm, service, scope, signal).finally(() => this.tokenFlights.delete(scope));
      this.tokenFlights.set(scope, flight);
    }
    return flight;
  }

  private async fetchToken(realm: string, service: string | undefined, scope: string, signal: AbortSignal | undefined): Promise<string> {
    const u = new URL(realm);
    if (service) u.searchParams.set('service', service);
    for (const s of scope.split(' ').filter(Boolean)) u.searchParams.append('scope', s);
    this.tokenRequests++;
    const res = await this.raw('GET', u, this.basic(), undefined, signal);
    if (res.status !== 200) {
      const text = (await readText(res, 300)).trim();
      throw new TokenError(`${this.host} refused a token for ${scope} (HTTP ${res.status}${text ? `: ${text}` : ''})`, res.status);
    }
    const body = JSON.parse((await readBytes(res, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new TokenError(`the token service of ${this.host} returned no token`, res.status);
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    this.tokens.set(scope, { token, expiresAt: this.now() + Math.max(0, lifetimeMs - TOKEN_MARGIN_MS) });
    return token;
  }
}
