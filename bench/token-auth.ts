/**
 * The Docker token flow as real clients run it (docker, containerd, skopeo): ping `/v2/`, read
 * the Bearer challenge's realm and service, ask the realm for a token per scope with the
 * account's Basic credentials, and reuse each token until shortly before it expires. The
 * benchmark's client takes its `Authorization` header from here, so every figure of a Berth
 * with access control on includes what a client's token costs the registry.
 */
import { basic } from './servers.js';

interface Cached {
  header: string;
  /** performance-independent wall clock: tokens expire in wall-clock seconds. */
  refreshAt: number;
}

export class TokenAuth {
  private challenge?: Promise<{ realm: string; service: string }>;
  private readonly tokens = new Map<string, Promise<Cached>>();
  /** Tokens fetched from the realm (a client fetches one per scope, then reuses it). */
  fetched = 0;

  constructor(
    private readonly url: string,
    private readonly user: string,
    private readonly password: string,
  ) {}

  /** The Bearer header for `scope` (e.g. `repository:bench/small:pull`, `registry:catalog:*`). */
  async header(scope: string): Promise<string> {
    const now = Date.now();
    let entry = this.tokens.get(scope);
    if (entry && (await entry).refreshAt <= now) entry = undefined;
    if (!entry) {
      entry = this.fetch(scope);
      this.tokens.set(scope, entry);
      entry.catch(() => this.tokens.delete(scope));
    }
    return (await entry).header;
  }

  /** The scope a request needs, from its path: pushes ask for pull and push, as clients do. */
  static scopeOf(method: string, path: string, push = false): string | undefined {
    if (path.startsWith('/v2/_catalog')) return 'registry:catalog:*';
    // Anchored at the end: a repository may itself have a "blobs" or "manifests" segment.
    const m = /^\/v2\/(.+?)\/(?:blobs\/uploads\/.*|blobs\/[^/]+|manifests\/[^/]+|tags\/list|referrers\/[^/]+)$/.exec(path.split('?')[0]!);
    if (!m) return undefined;
    return `repository:${m[1]}:${push || !(method === 'GET' || method === 'HEAD') ? 'pull,push' : 'pull'}`;
  }

  private async fetch(scope: string): Promise<Cached> {
    const { realm, service } = await (this.challenge ??= this.ping());
    const u = new URL(realm);
    u.searchParams.set('service', service);
    u.searchParams.set('scope', scope);
    const r = await fetch(u, { headers: { authorization: basic(this.user, this.password) } });
    const body = (await r.json().catch(() => ({}))) as { token?: string; expires_in?: number };
    if (r.status !== 200 || !body.token) throw new Error(`token for ${scope}: ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
    this.fetched++;
    // Refresh at 80% of the lifetime (60 s is what the token spec says to assume when unsaid).
    const life = (body.expires_in ?? 60) * 1000;
    return { header: `Bearer ${body.token}`, refreshAt: Date.now() + life * 0.8 };
  }

  private async ping(): Promise<{ realm: string; service: string }> {
    const r = await fetch(`${this.url}/v2/`);
    await r.arrayBuffer();
    const h = r.headers.get('www-authenticate') ?? '';
    const param = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(h)?.[1];
    const realm = param('realm');
    if (r.status !== 401 || !/^Bearer /i.test(h) || !realm) throw new Error(`${this.url}/v2/ did not answer with a Bearer challenge (${r.status} ${h})`);
    return { realm, service: param('service') ?? '' };
  }
}
