/**
 * A client of another OCI registry (Distribution API v2 / OCI 1.1): Basic credentials, or
 * Docker token auth (a 401's `WWW-Authenticate: Bearer realm=...,scope=...` challenge is
 * answered by fetching a token from the realm with the credentials, kept per scope). Blobs
 * stream in both directions (a GET's body is handed on as a stream; an upload is a POST for
 * a session then one PUT whose body is the stream), so no blob sits whole in memory.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { fallbackTag, type Descriptor, type Endpoint, type FetchedManifest } from './endpoint.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RemoteOptions {
  url: string;
  username: string | null;
  password: string | null;
  /** Accept a TLS certificate that does not verify. */
  insecure: boolean;
}

interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  res: IncomingMessage;
}

export class RemoteError extends Error {}

async function text(res: IncomingMessage, max = 4096): Promise<string> {
  let out = '';
  for await (const c of res) if (out.length < max) out += (c as Buffer).toString('utf8');
  return out.slice(0, max);
}

async function drain(res: IncomingMessage): Promise<void> {
  res.resume();
  if (!res.complete) await new Promise((r) => res.once('end', r).once('close', r).once('error', r));
}

async function bytes(res: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > max) throw new RemoteError(`response larger than ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The parameters of a `Bearer realm="...",service="...",scope="..."` challenge. */
export function parseChallenge(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out.realm ? out : undefined;
}

export class OciClient implements Endpoint {
  readonly name: string;
  private readonly base: URL;
  /** Bearer tokens by scope, and the last one per repository. */
  private readonly tokens = new Map<string, string>();
  private readonly byRepo = new Map<string, string>();
  /** The registry asked for Basic credentials: send them from now on. */
  private basicMode = false;

  constructor(private readonly opts: RemoteOptions) {
    this.base = new URL(opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    this.name = this.base.host;
  }

  private basic(): string | undefined {
    return this.opts.username !== null ? `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64')}` : undefined;
  }

  private raw(method: string, url: URL, headers: Record<string, string | number>, body: Buffer | Readable | undefined, signal: AbortSignal): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, signal, rejectUnauthorized: !this.opts.insecure }, (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, res }));
      req.on('error', reject);
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      }
    });
  }

  /** A token for `scope` from the challenge's realm, with the configured credentials. */
  private async token(challenge: Record<string, string>, signal: AbortSignal): Promise<string> {
    const u = new URL(challenge.realm!);
    if (challenge.service) u.searchParams.set('service', challenge.service);
    if (challenge.scope) for (const s of challenge.scope.split(' ')) u.searchParams.append('scope', s);
    const auth = this.basic();
    const r = await this.raw('GET', u, auth ? { authorization: auth } : {}, undefined, signal);
    if (r.status !== 200) throw new RemoteError(`${this.name}: token request refused (HTTP ${r.status}): ${await text(r.res, 300)}`);
    const body = JSON.parse((await bytes(r.res, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    const t = body.token ?? body.access_token;
    if (!t) throw new RemoteError(`${this.name}: the token endpoint answered no token`);
    return t;
  }

  /**
   * A request under /v2 for `repo`, authenticated as the registry asks: first with the
   * repository's last token (or Basic, once the registry asked for Basic; else anonymously),
   * and on a 401 once more as its challenge says: a token from the realm for the challenged
   * scope (Docker token auth), or Basic. A streamed body cannot be sent twice, so a request
   * with one follows an authenticated request of the same scope (every upload starts with a
   * POST).
   */
  async request(method: string, path: string, repo: string | undefined, headers: Record<string, string | number>, body: Buffer | Readable | undefined, signal: AbortSignal, absolute?: URL): Promise<Response> {
    const url = absolute ?? new URL(path.replace(/^\//, ''), this.base);
    const withAuth = (token: string | undefined) => ({ ...headers, ...(token ? { authorization: `Bearer ${token}` } : this.basicMode && this.basic() ? { authorization: this.basic()! } : {}) });
    const current = repo ? this.byRepo.get(repo) : this.byRepo.get('');
    const r = await this.raw(method, url, withAuth(current), body, signal);
    if (r.status !== 401) return r;
    const header = r.headers['www-authenticate'] as string | undefined;
    const challenge = parseChallenge(header);
    await drain(r.res);
    const basicAsked = !challenge && /^basic/i.test(header ?? '') && !this.basicMode && this.basic() !== undefined;
    if (!challenge && !basicAsked) return r;
    if (body !== undefined && !Buffer.isBuffer(body)) throw new RemoteError(`${this.name}: authentication was asked for in the middle of an upload`);
    if (basicAsked) {
      this.basicMode = true;
      return this.raw(method, url, withAuth(undefined), body, signal);
    }
    const scope = challenge!.scope ?? '';
    let token = this.tokens.get(scope);
    if (!token || token === current) {
      token = await this.token(challenge!, signal);
      this.tokens.set(scope, token);
    }
    this.byRepo.set(repo ?? '', token);
    return this.raw(method, url, withAuth(token), body, signal);
  }

  private async fail(what: string, r: Response): Promise<never> {
    throw new RemoteError(`${this.name}: ${what}: HTTP ${r.status} ${(await text(r.res, 500)).trim()}`);
  }

  async manifest(repo: string, ref: string, signal: AbortSignal): Promise<FetchedManifest | undefined> {
    const r = await this.request('GET', `v2/${repo}/manifests/${ref}`, repo, { accept: MANIFEST_ACCEPT }, undefined, signal);
    if (r.status === 404) return void (await drain(r.res));
    if (r.status !== 200) return this.fail(`GET manifest ${repo}:${ref}`, r);
    const body = await bytes(r.res, 16 << 20);
    const digest = (r.headers['docker-content-digest'] as string | undefined) ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
    return { body, mediaType: String(r.headers['content-type'] ?? '').split(';')[0]!.trim(), digest };
  }

  async manifestDigest(repo: string, ref: string, signal: AbortSignal): Promise<string | undefined> {
    const r = await this.request('HEAD', `v2/${repo}/manifests/${ref}`, repo, { accept: MANIFEST_ACCEPT }, undefined, signal);
    await drain(r.res);
    if (r.status === 404) return undefined;
    if (r.status !== 200) return this.fail(`HEAD manifest ${repo}:${ref}`, r);
    const d = r.headers['docker-content-digest'] as string | undefined;
    if (d) return d;
    return (await this.manifest(repo, ref, signal))?.digest;
  }

  async putManifest(repo: string, ref: string, m: FetchedManifest, signal: AbortSignal): Promise<void> {
    const r = await this.request('PUT', `v2/${repo}/manifests/${ref}`, repo, { 'content-type': m.mediaType, 'content-length': m.body.length }, m.body, signal);
    if (r.status !== 201 && r.status !== 200) return this.fail(`PUT manifest ${repo}:${ref}`, r);
    await drain(r.res);
  }

  async deleteManifest(repo: string, ref: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.request('DELETE', `v2/${repo}/manifests/${ref}`, repo, {}, undefined, signal);
    await drain(r.res);
    return r.status === 202 || r.status === 200;
  }

  async hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.request('HEAD', `v2/${repo}/blobs/${digest}`, repo, {}, undefined, signal);
    await drain(r.res);
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    return this.fail(`HEAD blob ${repo}@${digest}`, r);
  }

  async mountBlob(repo: string, digest: string, from: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.request('POST', `v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, repo, { 'content-length': 0 }, Buffer.alloc(0), signal);
    await drain(r.res);
    if (r.status === 201) return true;
    if (r.status === 202) {
      // Not mounted: a session was opened instead; give it back.
      const loc = r.headers.location;
      if (loc) await this.request('DELETE', '', repo, {}, undefined, signal, new URL(loc, this.base)).then((x) => drain(x.res)).catch(() => {});
      return false;
    }
    return this.fail(`mount ${digest} into ${repo}`, r);
  }

  async openBlob(repo: string, digest: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }> {
    let r = await this.request('GET', `v2/${repo}/blobs/${digest}`, repo, {}, undefined, signal);
    for (let hops = 0; r.status >= 300 && r.status < 400 && r.headers.location && hops < 3; hops++) {
      await drain(r.res);
      // A redirect to storage (S3, a CDN) is followed without the registry's credentials.
      r = await this.raw('GET', new URL(r.headers.location, this.base), {}, undefined, signal);
    }
    if (r.status !== 200) return this.fail(`GET blob ${repo}@${digest}`, r);
    return { size: Number(r.headers['content-length'] ?? -1), stream: r.res };
  }

  async putBlob(repo: string, digest: string, size: number, stream: Readable, signal: AbortSignal): Promise<void> {
    const start = await this.request('POST', `v2/${repo}/blobs/uploads/`, repo, { 'content-length': 0 }, Buffer.alloc(0), signal);
    await drain(start.res);
    if (start.status !== 202 || !start.headers.location) return this.fail(`start upload to ${repo}`, start);
    const loc = new URL(start.headers.location, this.base);
    loc.searchParams.set('digest', digest);
    const r = await this.request('PUT', '', repo, { 'content-type': 'application/octet-stream', 'content-length': size }, stream, signal, loc);
    if (r.status !== 201) return this.fail(`upload ${digest} to ${repo}`, r);
    await drain(r.res);
  }

  private async pages(first: string, repo: string | undefined, key: 'tags' | 'repositories', signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = first;
    while (path) {
      const r = await this.request('GET', path, repo, { accept: 'application/json' }, undefined, signal);
      if (r.status === 404) {
        await drain(r.res);
        return out;
      }
      if (r.status !== 200) return this.fail(`GET ${path}`, r);
      const body = JSON.parse((await bytes(r.res, 64 << 20)).toString('utf8')) as Record<string, string[] | null>;
      out.push(...(body[key] ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(r.headers.link ?? ''));
      path = link ? link[1]!.replace(/^\//, '') : undefined;
    }
    return out;
  }

  tags(repo: string, signal: AbortSignal): Promise<string[]> {
    return this.pages(`v2/${repo}/tags/list?n=1000`, repo, 'tags', signal);
  }

  repositories(signal: AbortSignal): Promise<string[]> {
    return this.pages('v2/_catalog?n=1000', undefined, 'repositories', signal);
  }

  async referrers(repo: string, digest: string, signal: AbortSignal): Promise<{ api: boolean; manifests: Descriptor[] }> {
    const r = await this.request('GET', `v2/${repo}/referrers/${digest}`, repo, { accept: 'application/vnd.oci.image.index.v1+json' }, undefined, signal);
    if (r.status === 200 && String(r.headers['content-type'] ?? '').includes('application/vnd.oci.image.index.v1+json')) {
      const index = JSON.parse((await bytes(r.res, 16 << 20)).toString('utf8')) as { manifests?: Descriptor[] };
      return { api: true, manifests: index.manifests ?? [] };
    }
    await drain(r.res);
    // No referrers API: the tag fallback of the OCI distribution spec.
    const fallback = await this.manifest(repo, fallbackTag(digest), signal);
    if (!fallback) return { api: false, manifests: [] };
    return { api: false, manifests: (JSON.parse(fallback.body.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [] };
  }
}
