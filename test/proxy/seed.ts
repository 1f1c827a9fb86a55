/**
 * Puts content into an upstream registry over the plain OCI push protocol (POST a session,
 * PUT the bytes with their digest, PUT the manifest), which both Distribution and Berth take,
 * with optional credentials (Basic).
 */
import { imageManifest, indexManifest, randomBlob, sha256 } from '../helpers/oci.js';

export type Headers = Record<string, string>;

export async function pushBlobTo(url: string, repo: string, data: Buffer, headers: Headers = {}): Promise<string> {
  const digest = sha256(data);
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`start upload: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: data as unknown as BodyInit, headers: { ...headers, 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`finish upload: ${put.status} ${await put.text()}`);
  return digest;
}

export async function putManifestTo(url: string, repo: string, ref: string, body: Buffer, mediaType: string, headers: Headers = {}): Promise<string> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: body as unknown as BodyInit, headers: { ...headers, 'content-type': mediaType } });
  if (r.status !== 201) throw new Error(`put manifest: ${r.status} ${await r.text()}`);
  return sha256(body);
}

export interface SeededImage {
  digest: string;
  manifest: Buffer;
  blobs: string[];
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** An image of `layers` (default: two small random ones) for `arch`, pushed under `ref`. */
export async function seedImage(url: string, repo: string, ref: string, opts: { headers?: Headers; layers?: Buffer[]; arch?: string } = {}): Promise<SeededImage> {
  const config = Buffer.from(JSON.stringify({ architecture: opts.arch ?? 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const layers = opts.layers ?? [randomBlob(3000), randomBlob(5000)];
  const blobs = [await pushBlobTo(url, repo, config, opts.headers)];
  for (const l of layers) blobs.push(await pushBlobTo(url, repo, l, opts.headers));
  const manifest = imageManifest(config, layers);
  const digest = await putManifestTo(url, repo, ref, manifest, OCI_MANIFEST, opts.headers);
  return { digest, manifest, blobs };
}

/** An index of one image per architecture, pushed under `ref`; returns the index and children. */
export async function seedIndex(url: string, repo: string, ref: string, archs: string[]): Promise<{ digest: string; children: Record<string, SeededImage> }> {
  const children: Record<string, SeededImage> = {};
  for (const arch of archs) children[arch] = await seedImage(url, repo, `child-${arch}`, { arch });
  const index = indexManifest(archs.map((a) => ({ digest: children[a]!.digest, size: children[a]!.manifest.length, platform: { architecture: a, os: 'linux' } })));
  const digest = await putManifestTo(url, repo, ref, index, 'application/vnd.oci.image.index.v1+json');
  return { digest, children };
}
