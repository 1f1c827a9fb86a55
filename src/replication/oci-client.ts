/**
 * Replication's endpoint on another OCI registry (Distribution API v2 / OCI 1.1), over the
 * shared client of another registry (src/registry-client/: Basic or the Docker token flow,
 * tokens cached per scope until they expire, redirects of blob reads followed). Blobs stream
 * in both directions (a GET's body is handed on as a stream; an upload is a POST for a
 * session then one PUT whose body is the stream), so no blob sits whole in memory.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { discard, readBytes, readText, RegistryClient, type RemoteResponse } from '../registry-client/client.js';
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

export class RemoteError extends Error {}

const bytes = (r: RemoteResponse, max: number) => readBytes(r, max, () => new RemoteError(`response larger than ${max} bytes`));

export class OciClient implements Endpoint {
  readonly name: string;
  private readonly client: RegistryClient;

  constructor(opts: RemoteOptions) {
    this.client = new RegistryClient({ url: opts.url, username: opts.username, password: opts.password, insecure: opts.insecure });
    this.name = this.client.host;
  }

  /** A request under the base URL for `repo` (its token scope), authenticated as the registry asks. */
  request(method: string, path: string, repo: string | undefined, headers: Record<string, string | number>, body: Buffer | Readable | undefined, signal: AbortSignal, absolute?: URL): Promise<RemoteResponse> {
    return this.client.request(method, path, { ...(repo !== undefined ? { repo } : {}), headers, ...(body !== undefined ? { body } : {}), signal, ...(absolute ? { absolute } : {}) });
  }

  private async fail(what: string, r: RemoteResponse): Promise<never> {
    throw new RemoteError(`${this.name}: ${what}: HTTP ${r.status} ${(await readText(r, 500)).trim()}`);
  }

  async manifest(repo: string, ref: string, signal: AbortSignal): Promise<FetchedManifest | undefined> {
    const r = await this.request('GET', `v2/${repo}/manifests/${ref}`, repo, { accept: MANIFEST_ACCEPT }, undefined, signal);
    if (r.status === 404) return void (await discard(r));
    if (r.status !== 200) return this.fail(`GET manifest ${repo}:${ref}`, r);
    const body = await bytes(r, 16 << 20);
    const digest = (r.headers['docker-content-digest'] as string | undefined) ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
    return { body, mediaType: String(r.headers['content-type'] ?? '').split(';')[0]!.trim(), digest };
  }

  async manifestDigest(repo: string, ref: string, signal: AbortSignal): Promise<string | undefined> {
    const r = await this.request('HEAD', `v2/${repo}/manifests/${ref}`, repo, { accept: MANIFEST_ACCEPT }, undefined, signal);
    await discard(r);
    if (r.status === 404) return undefined;
    if (r.status !== 200) return this.fail(`HEAD manifest ${repo}:${ref}`, r);
    const d = r.headers['docker-content-digest'] as string | undefined;
    if (d) return d;
    return (await this.manifest(repo, ref, signal))?.digest;
  }

  async putManifest(repo: string, ref: string, m: FetchedManifest, signal: AbortSignal): Promise<void> {
    const r = await this.request('PUT', `v2/${repo}/manifests/${ref}`, repo, { 'content-type': m.mediaType, 'content-length': m.body.length }, m.body, signal);
    if (r.status !== 201 && r.status !== 200) return this.fail(`PUT manifest ${repo}:${ref}`, r);
    await discard(r);
  }

  async deleteManifest(repo: string, ref: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.request('DELETE', `v2/${repo}/manifests/${ref}`, repo, {}, undefined, signal);
    await discard(r);
    return r.status === 202 || r.status === 200;
  }

  async hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.request('HEAD', `v2/${repo}/blobs/${digest}`, repo, {}, undefined, signal);
    await discard(r);
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    return this.fail(`HEAD blob ${repo}@${digest}`, r);
  }

  async mountBlob(repo: string, digest: string, from: string, signal: AbortSignal): Promise<boolean> {
    const r = await this.request('POST', `v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, repo, { 'content-length': 0 }, Buffer.alloc(0), signal);
    await discard(r);
    if (r.status === 201) return true;
    if (r.status === 202) {
      // Not mounted: a session was opened instead; give it back.
      const loc = r.headers.location;
      if (loc) await this.request('DELETE', '', repo, {}, undefined, signal, new URL(loc, this.client.base)).then((x) => discard(x)).catch(() => {});
      return false;
    }
    return this.fail(`mount ${digest} into ${repo}`, r);
  }

  async openBlob(repo: string, digest: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }> {
    // A redirect to storage (S3, a CDN) is followed by the client, without the registry's credentials.
    const r = await this.request('GET', `v2/${repo}/blobs/${digest}`, repo, {}, undefined, signal);
    if (r.status !== 200) return this.fail(`GET blob ${repo}@${digest}`, r);
    return { size: Number(r.headers['content-length'] ?? -1), stream: r.body };
  }

  async putBlob(repo: string, digest: string, size: number, stream: Readable, signal: AbortSignal): Promise<void> {
    const start = await this.request('POST', `v2/${repo}/blobs/uploads/`, repo, { 'content-length': 0 }, Buffer.alloc(0), signal);
    await discard(start);
    if (start.status !== 202 || !start.headers.location) return this.fail(`start upload to ${repo}`, start);
    const loc = new URL(start.headers.location, this.client.base);
    loc.searchParams.set('digest', digest);
    const r = await this.request('PUT', '', repo, { 'content-type': 'application/octet-stream', 'content-length': size }, stream, signal, loc);
    if (r.status !== 201) return this.fail(`upload ${digest} to ${repo}`, r);
    await discard(r);
  }

  private async pages(first: string, repo: string | undefined, key: 'tags' | 'repositories', signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = first;
    while (path) {
      const r = await this.request('GET', path, repo, { accept: 'application/json' }, undefined, signal);
      if (r.status === 404) {
        await discard(r);
        return out;
      }
      if (r.status !== 200) return this.fail(`GET ${path}`, r);
      const body = JSON.parse((await bytes(r, 64 << 20)).toString('utf8')) as Record<string, string[] | null>;
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
      const index = JSON.parse((await bytes(r, 16 << 20)).toString('utf8')) as { manifests?: Descriptor[] };
      return { api: true, manifests: index.manifests ?? [] };
    }
    await discard(r);
    // No referrers API: the tag fallback of the OCI distribution spec.
    const fallback = await this.manifest(repo, fallbackTag(digest), signal);
    if (!fallback) return { api: false, manifests: [] };
    return { api: false, manifests: (JSON.parse(fallback.body.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [] };
  }
}
