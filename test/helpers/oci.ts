/**
 * Small OCI client helpers for HTTP tests: digests, pushing blobs and manifests, building
 * image manifests and indexes.
 */
import { createHash } from 'node:crypto';

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A Buffer as a fetch body (Node's Buffer typing and fetch's BodyInit disagree). */
export function bytes(b: Buffer): BodyInit {
  return b as unknown as BodyInit;
}

/** A repeatable pseudo-random sequence in [0, 1) (xorshift), for tests that pick at random. */
export function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

export function randomBlob(size: number, seed = Math.random()): Buffer {
  const b = Buffer.alloc(size);
  let x = Math.floor(seed * 2 ** 31) | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export async function pushBlob(url: string, repo: string, data: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha256(data);
  const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes(data), headers: { 'Content-Type': 'application/octet-stream', ...headers } });
  if (r.status !== 201) throw new Error(`push blob: ${r.status} ${await r.text()}`);
  return digest;
}

export interface ImageParts {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  digest: string;
}

export function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
      ...extra,
    }),
  );
}

/** Pushes config + layers + manifest under `ref`; returns the parts. */
export async function pushImage(url: string, repo: string, ref: string, opts: { layers?: Buffer[]; config?: Buffer; extra?: Record<string, unknown>; headers?: Record<string, string> } = {}): Promise<ImageParts> {
  const config = opts.config ?? Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const layers = opts.layers ?? [randomBlob(1000)];
  await pushBlob(url, repo, config, opts.headers);
  for (const l of layers) await pushBlob(url, repo, l, opts.headers);
  const manifest = imageManifest(config, layers, opts.extra);
  await putManifest(url, repo, ref, manifest, undefined, opts.headers);
  return { config, layers, manifest, digest: sha256(manifest) };
}

export async function putManifest(url: string, repo: string, ref: string, body: Buffer, mediaType = 'application/vnd.oci.image.manifest.v1+json', headers: Record<string, string> = {}): Promise<Response> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes(body), headers: { 'Content-Type': mediaType, ...headers } });
  if (r.status !== 201) throw new Error(`put manifest: ${r.status} ${await r.text()}`);
  return r;
}

export function indexManifest(children: { digest: string; size: number; platform?: Record<string, string> }[], mediaType = 'application/vnd.oci.image.index.v1+json'): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.size, ...(c.platform ? { platform: c.platform } : {}) })),
    }),
  );
}

export async function errorCode(r: Response): Promise<string | undefined> {
  const body = (await r.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

/** Reads a response body to its end: its sha256 digest and size (throws if the body fails). */
export async function sha256OfBody(body: ReadableStream<Uint8Array> | null): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    size += chunk.byteLength;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}
