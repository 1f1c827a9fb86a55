/**
 * One upstream registry of the pull-through cache: its health, over the shared client of
 * another registry (src/registry-client/: Basic or the Docker token flow, tokens cached per
 * scope until they expire, one token request per scope at a time).
 *
 * Health: a network error, a timeout, a 5xx or a 429 (from the registry or its token service)
 * marks the upstream down for a while (1 s, doubling with each failure in a row up to
 * `downBackoffSeconds`); the first answer that is not such a failure clears it. While it is
 * down the proxy serves what it has cached without asking, and content it never cached fails
 * at once with the last failure, so a failing upstream is not hammered. After the pause the
 * next request tries again.
 */
import type { UpstreamConfig } from '../config/proxy-schema.js';
import { readText, RegistryClient, RemoteUnreachable, TokenError, type RemoteResponse } from '../registry-client/client.js';

export type { RemoteResponse } from '../registry-client/client.js';
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

const MIN_BACKOFF_MS = 1000;

export class UpstreamClient {
  private readonly client: RegistryClient;
  private readonly base: string;
  private failures = 0;
  private downUntil = 0;
  private lastError: string | null = null;

  constructor(
    readonly config: UpstreamConfig,
    private readonly maxBackoffMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.base = config.url.replace(/\/+$/, '');
    this.client = new RegistryClient({ url: config.url, username: config.username, password: config.password, headersTimeoutMs: config.timeoutSeconds * 1000, now });
  }

  get name(): string {
    return this.config.name;
  }

  /** Requests sent (token requests included), and token requests alone, for tests and stats. */
  get requests(): number {
    return this.client.requests;
  }

  get tokenRequests(): number {
    return this.client.tokenRequests;
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
   * timeout before headers, 5xx, 429), which reject with UpstreamError, as does a token
   * service that refuses the credentials. The caller reads or discards the body.
   */
  async request(method: 'GET' | 'HEAD', repo: string, path: string, headers: Record<string, string> = {}): Promise<RemoteResponse> {
    this.checkUp();
    let res: RemoteResponse;
    try {
      res = await this.client.request(method, `v2/${repo}/${path}`, { repo, headers });
    } catch (e) {
      if (e instanceof RemoteUnreachable) throw this.failed(undefined, `upstream ${this.name} (${this.base}) unreachable: ${e.message}`);
      if (e instanceof TokenError) {
        if (e.status >= 500 || e.status === 429) throw this.failed(e.status, `token service of upstream ${this.name} answered ${e.status}`);
        throw new UpstreamError(this.name, e.status, `upstream ${this.name}: ${e.message}; check its username and password`);
      }
      throw e;
    }
    if (res.status >= 500 || res.status === 429) {
      const text = (await readText(res, 300)).trim();
      throw this.failed(res.status, `upstream ${this.name} answered ${res.status}${text ? `: ${text}` : ''}`);
    }
    this.recovered();
    return res;
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
}
