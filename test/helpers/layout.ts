/**
 * Builds and reads OCI image layouts on disk for end-to-end tests: images made with umoci
 * (real layers, real configs), a multi-platform index written next to them, and readers for
 * what a client copied back (index.json, blobs by digest).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './tools.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface OciManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Creates an empty layout (`umoci init`). */
export async function initLayout(layout: string): Promise<void> {
  await run('umoci', ['init', '--layout', layout]);
}

/**
 * Adds image `tag` to `layout` with umoci: one layer per entry of `files` (path -> content),
 * then the config (architecture, os, cmd). Returns the manifest descriptor.
 */
export async function umociImage(layout: string, tag: string, opts: { files: Record<string, string>; architecture?: string; scratch: string }): Promise<Descriptor> {
  const image = `${layout}:${tag}`;
  await run('umoci', ['new', '--image', image]);
  let i = 0;
  for (const [path, content] of Object.entries(opts.files)) {
    const src = join(opts.scratch, `${tag}-file-${i++}`);
    await writeFile(src, content);
    await run('umoci', ['insert', '--image', image, src, path]);
  }
  await run('umoci', ['config', '--image', image, '--architecture', opts.architecture ?? 'amd64', '--os', 'linux', '--config.cmd', '/bin/true', '--config.label', `e2e.tag=${tag}`]);
  return refDescriptor(layout, tag);
}

/** The descriptor tagged `tag` in the layout's index.json. */
export async function refDescriptor(layout: string, tag: string): Promise<Descriptor> {
  const index = await readIndexJson(layout);
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!d) throw new Error(`no ${tag} in ${layout}/index.json`);
  return d;
}

export async function readIndexJson(layout: string): Promise<{ manifests: Descriptor[] }> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
}

/** A blob's bytes, verified against its digest. */
export async function readBlob(layout: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(':') as [string, string];
  const bytes = await readFile(join(layout, 'blobs', algorithm, hex));
  if (sha256Hex(bytes) !== hex) throw new Error(`blob ${digest} in ${layout} does not match its digest`);
  return bytes;
}

/** Writes bytes as a blob of the layout; returns their descriptor. */
export async function writeBlob(layout: string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const hex = sha256Hex(bytes);
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Writes an OCI image index over `children` (each with its platform) and tags it `tag` in
 * index.json, so that `oci:<layout>:<tag>` names a multi-platform image.
 */
export async function writeIndex(layout: string, tag: string, children: Descriptor[]): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: c.platform })),
    }),
  );
  const descriptor = await writeBlob(layout, bytes, mediaType);
  const index = await readIndexJson(layout);
  index.manifests.push({ ...descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } });
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return { descriptor, bytes };
}
