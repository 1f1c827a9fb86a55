/**
 * One upstream registry over HTTP: authentication and health.
 *
 * Authentication follows what the upstream asks for in `WWW-Authenticate`: Basic (the
 * configured credentials), or the Docker token flow (a GET to the realm with service and
 * scope, with the credentials as Basic when there are any, anonymous otherwise). Bearer tokens
 * are cached per scope until shortly before they expire, and concurrent requests needing the
 * same token make one token request (single flight).
 *
 * Health: a network error, a timeout, a 5xx or a 429 marks the upstream down for a while
 * (1 s, doubling with each failure in a row up to `downBackoffSeconds`); the first answer
 * that is not such a failure clears it. While it is down the proxy serves what it has cached
 * without asking, and content it never cached fails at once with the last failure, so a
 * failing upstream is not hammered. After the pause the next request tries again.
 */
import type { UpstreamConfig } from '../config/proxy-schema.js';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly upstream: string,
    /** The upstream's HTTP status, or undefined for a network error or timeout. */
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamHealth {
  /** Whether requests go to the upstream now (false while backing off after failures). */
  up: boolean;
  /** The last failure, if the upstream is or was recently down. */
  lastError: string | null;
  /** When the upstream may be asked again (ms since the epoch), while down. */
  retryAt: number | null;
  consecutiveFailures: number;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const MIN_BACKOFF_MS = 1000;
/** Tokens are renewed this long before the upstream said they expire. */
const TOKEN_MARGIN_MS = 10_000;

export class UpstreamClient {
  private readonly base: string;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly tokenFlights = new Map<string, Promise<string>>();
  /** The scheme the upstream asked for last time, so later requests send credentials at once. */
  private challenge: { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined } | undefined;
  private failures = 0;
  private downUntil = 0;
  private lastError: string | null = null;
  /** Requests sent (token requests included), and token requests alone, for tests and stats. */
  requests = 0;
  tokenRequests = 0;

  constructor(
    readonly config: UpstreamConfig,
    private readonly maxBackoffMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.base = config.url.replace(/\/+$/, '');
  }

  get name(): string {
    return this.config.name;
  }

  health(): UpstreamHealth {
    const up = this.now() >= this.downUntil;
    return { up, lastError: this.lastError, retryAt: up ? null : this.downUntil, consecutiveFailures: this.failures };
  }

  /** Throws the remembered failure while the upstream is backing off. */
  checkUp(): void {
    if (this.now() < this.downUntil) {
      throw new UpstreamError(this.name, undefined, `upstream ${this.name} (${this.base}) is down (${this.lastError ?? 'failing'}); retrying after ${new Date(this.downUntil).toISOString()}`);
    }
  }

  /**
   * Sends `method` to `/v2/<repo>/<path>` with authentication. Resolves with the response
   * whatever its status except the failures that mark the upstream down (network error,
   * timeout before headers, 5xx, 429), which reject with UpstreamError. The caller reads or
   * cancels the body.
   */
  async request(method: 'GET' | 'HEAD', repo: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    this.checkUp();
    const url = `${this.base}/v2/${repo}/${path}`;
    const scope = `repository:${repo}:pull`;
    let res = await this.send(method, url, { ...headers, ...(await this.authorization(scope)) });
    if (res.status === 401) {
      const asked = parseChallenge(res.headers.get('www-authenticate'));
      await res.body?.cancel();
      if (asked) {
        this.challenge = asked;
        if (asked.scheme === 'bearer') this.tokens.delete(scope);
        res = await this.send(method, url, { ...headers, ...(await this.authorization(asked.scheme === 'bearer' && asked.scope ? asked.scope : scope)) });
      }
    }
    if (res.status >= 500 || res.status === 429) {
      const text = await bodyText(res);
      throw this.failed(res.status, `upstream ${this.name} answered ${res.status}${text ? `: ${text}` : ''}`);
    }
    this.recovered();
    return res;
  }

  private async send(method: string, url: string, headers: Record<string, string>): Promise<Response> {
    this.requests++;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.config.timeoutSeconds * 1000);
    try {
      return await fetch(url, { method, headers, redirect: 'follow', signal: abort.signal });
    } catch (e) {
      const why = abort.signal.aborted ? `no answer within ${this.config.timeoutSeconds} s` : ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
      throw this.failed(undefined, `upstream ${this.name} (${this.base}) unreachable: ${why}`);
    } finally {
      // Headers arrived (or the request failed): the body may take as long as it needs.
      clearTimeout(timer);
    }
  }

  /** Records a failure and starts (or lengthens) the back-off; returns the error to throw. */
  failed(status: number | undefined, message: string): UpstreamError {
    this.failures++;
    this.lastError = message;
    this.downUntil = this.now() + Math.min(this.maxBackoffMs, MIN_BACKOFF_MS * 2 ** (this.failures - 1));
    return new UpstreamError(this.name, status, message);
  }

  private recovered(): void {
    this.failures = 0;
    this.downUntil = 0;
  }

  private async authorization(scope: string): Promise<Record<string, string>> {
    const c = this.challenge;
    if (!c) return {};
    if (c.scheme === 'basic') return this.basic();
    return { authorization: `Bearer ${await this.token(c.realm, c.service, scope)}` };
  }

  private basic(): Record<string, string> {
    const { username, password } = this.config;
    if (!username && !password) return {};
    return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
  }

  private async token(realm: string, service: string | undefined, scope: string): Promise<string> {
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    let flight = this.tokenFlights.get(scope);
    if (!flight) {
      flight = this.fetchToken(realm, service, scope).finally(() => this.tokenFlights.delete(scope));
      this.tokenFlights.set(scope, flight);
    }
    return flight;
  }

  private async fetchToken(realm: string, service: string | undefined, scope: string): Promise<string> {
    const u = new URL(realm);
    if (service) u.searchParams.set('service', service);
    u.searchParams.set('scope', scope);
    this.tokenRequests++;
    const res = await this.send('GET', u.toString(), this.basic());
    if (res.status >= 500 || res.status === 429) throw this.failed(res.status, `token service of upstream ${this.name} answered ${res.status}`);
    if (res.status !== 200) {
      const text = await bodyText(res);
      throw new UpstreamError(this.name, res.status, `upstream ${this.name} refused a token for ${scope} (${res.status}${text ? `: ${text}` : ''}); check its username and password`);
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new UpstreamError(this.name, res.status, `the token service of upstream ${this.name} returned no token`);
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    this.tokens.set(scope, { token, expiresAt: this.now() + Math.max(0, lifetimeMs - TOKEN_MARGIN_MS) });
    return token;
  }
}

type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined };

/** `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  if (!params.realm) return undefined;
  return { scheme: 'bearer', realm: params.realm, service: params.service, scope: params.scope };
}

async function bodyText(res: Response): Promise<string> {
  try {
    return (await res.text()).slice(0, 300).trim();
  } catch {
    return '';
  }
}
