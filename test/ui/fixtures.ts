/**
 * Content and accounts for the UI tests, created over the real HTTP APIs: images pushed through
 * /v2 (answering the registry's token challenge like a real client does) and projects, users and
 * memberships through /api/v1 with Basic credentials.
 */
import { bytes, imageManifest, indexManifest, randomBlob, sha256 } from '../helpers/oci.js';

export interface Creds {
  user: string;
  password: string;
}

const basic = (c: Creds) => 'Basic ' + Buffer.from(`${c.user}:${c.password}`).toString('base64');

/** A /v2 client that follows `WWW-Authenticate: Bearer` challenges, caching one token per scope. */
export class RegistryClient {
  private tokens = new Map<string, string>();
  constructor(
    readonly url: string,
    readonly creds: Creds,
  ) {}

  async fetch(path: string, init: RequestInit & { scope: string }): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = this.tokens.get(init.scope);
    headers.set('Authorization', token ? `Bearer ${token}` : basic(this.creds));
    let r = await fetch(this.url + path, { ...init, headers });
    const challenge = r.headers.get('www-authenticate') ?? '';
    if (r.status === 401 && /^Bearer /i.test(challenge)) {
      await r.arrayBuffer();
      const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
      const service = /service="([^"]+)"/.exec(challenge)?.[1];
      if (!realm) throw new Error(`no realm in ${challenge}`);
      const u = new URL(realm);
      if (service) u.searchParams.set('service', service);
      u.searchParams.set('scope', init.scope);
      const t = await fetch(u, { headers: { Authorization: basic(this.creds) } });
      if (!t.ok) throw new Error(`token: ${t.status} ${await t.text()}`);
      const body = (await t.json()) as { token?: string; access_token?: string };
      this.tokens.set(init.scope, (body.token ?? body.access_token)!);
      headers.set('Authorization', `Bearer ${this.tokens.get(init.scope)}`);
      r = await fetch(this.url + path, { ...init, headers });
    }
    return r;
  }

  async pushBlob(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const r = await this.fetch(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes(data), headers: { 'Content-Type': 'application/octet-stream' }, scope: `repository:${repo}:pull,push` });
    if (r.status !== 201) throw new Error(`push blob: ${r.status} ${await r.text()}`);
    return digest;
  }

  async putManifest(repo: string, ref: string, body: Buffer, mediaType: string): Promise<string> {
    const r = await this.fetch(`/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes(body), headers: { 'Content-Type': mediaType }, scope: `repository:${repo}:pull,push` });
    if (r.status !== 201) throw new Error(`put manifest ${repo}:${ref}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
    return sha256(body);
  }

  /** An image with a realistic config (entrypoint, env, labels, history); returns digest and size. */
  async pushImage(repo: string, ref: string, opts: { arch?: string; layers?: number; label?: string } = {}): Promise<{ digest: string; size: number }> {
    const layers = Array.from({ length: opts.layers ?? 2 }, (_, i) => randomBlob(2048 * (i + 1)));
    const config = Buffer.from(
      JSON.stringify({
        created: '2025-01-02T03:04:05Z',
        architecture: opts.arch ?? 'amd64',
        os: 'linux',
        config: {
          Entrypoint: ['/usr/bin/demo-server'],
          Cmd: ['--port', '8080'],
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin', `DEMO_ARCH=${opts.arch ?? 'amd64'}`],
          Labels: { 'org.opencontainers.image.source': 'https://example.invalid/demo', 'demo.label': opts.label ?? 'x' },
          WorkingDir: '/srv',
        },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) },
        history: [
          { created: '2025-01-02T03:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:base.tar in / ' },
          { created: '2025-01-02T03:01:00Z', created_by: '/bin/sh -c #(nop)  ENV DEMO=1', empty_layer: true },
          ...layers.slice(1).map((_, i) => ({ created: '2025-01-02T03:02:00Z', created_by: `RUN make install-${i}` })),
        ],
      }),
    );
    await this.pushBlob(repo, config);
    for (const l of layers) await this.pushBlob(repo, l);
    const manifest = imageManifest(config, layers, { annotations: { 'org.opencontainers.image.title': `demo ${ref}` } });
    const digest = await this.putManifest(repo, ref, manifest, 'application/vnd.oci.image.manifest.v1+json');
    return { digest, size: manifest.length };
  }

  /** A two-platform index (linux/amd64, linux/arm64) under `ref`. */
  async pushMultiArch(repo: string, ref: string): Promise<{ digest: string; children: string[] }> {
    const amd = await this.pushImage(repo, `${ref}-amd64`, { arch: 'amd64' });
    const arm = await this.pushImage(repo, `${ref}-arm64`, { arch: 'arm64' });
    const index = indexManifest([
      { digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: 'amd64' } },
      { digest: arm.digest, size: arm.size, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    const digest = await this.putManifest(repo, ref, index, 'application/vnd.oci.image.index.v1+json');
    return { digest, children: [amd.digest, arm.digest] };
  }
}

/** JSON call to /api/v1 with Basic credentials; throws on an unexpected status. */
export async function apiCall<T = unknown>(url: string, creds: Creds, method: string, path: string, body?: unknown, expect = [200, 201, 204]): Promise<T> {
  const r = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { Authorization: basic(creds), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!expect.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
