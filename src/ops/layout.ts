/**
 * OCI image layouts in and out of a registry, over the OCI Distribution API (so it works against
 * any Berth node, with the caller's credentials, and every push goes through the registry's
 * own validation and policies).
 *
 * Export writes the layout of the image-layout spec: `oci-layout`, `index.json` and
 * `blobs/<alg>/<hex>`. Every manifest is written as the registry stores it (byte for byte, so
 * digests are unchanged), with every platform of an index and every referrer (signatures,
 * SBOMs) found through the referrers API, recursively. Tags become `index.json` entries with
 * the `org.opencontainers.image.ref.name` annotation; referrers are entries without one.
 * Downloaded bytes are hashed as they are written and refused when they do not match.
 *
 * Import pushes a layout (a folder, or a `.tar` of one) into a repository: blobs first (skipped
 * when the registry has them), then children before their index, subjects before their
 * referrers, each manifest with its exact bytes; tagged entries get their tag. A round trip
 * through Berth therefore keeps every digest, which the tests check against skopeo and umoci.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

export const REF_NAME = 'org.opencontainers.image.ref.name';
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: unknown;
}

interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  blobs?: Descriptor[];
}

export interface RegistryTarget {
  /** Base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  authorization?: string | undefined;
}

export interface LayoutReport {
  repository: string;
  tags: string[];
  manifests: number;
  blobs: number;
  bytes: number;
  referrers: number;
}

function blobFile(root: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  if (!/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`invalid digest ${digest}`);
  return join(root, 'blobs', alg, hex);
}

function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

class Client {
  constructor(private readonly t: RegistryTarget) {}

  async fetch(path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.t.authorization) headers.set('Authorization', this.t.authorization);
    return fetch(`${this.t.url.replace(/\/$/, '')}/v2/${path}`, { ...init, headers } as RequestInit);
  }

  async fail(r: Response, what: string): Promise<never> {
    const text = await r.text();
    let message = text.slice(0, 300);
    try {
      const e = (JSON.parse(text) as { errors?: { code: string; message: string }[] }).errors?.[0];
      if (e) message = `${e.code}: ${e.message}`;
    } catch {
      // not JSON
    }
    throw new Error(`${what}: ${r.status} ${message}`);
  }
}

/** Writes `repository` (one tag, or every tag) and everything it references into an OCI layout. */
export async function exportLayout(target: RegistryTarget, repository: string, tag: string | undefined, to: string): Promise<LayoutReport> {
  const tarball = to.endsWith('.tar');
  const root = tarball ? await mkdtemp(join(tmpdir(), 'berth-export-')) : to;
  try {
    if (!tarball) {
      const existing = await readdir(root).catch(() => []);
      if (existing.length > 0) throw new Error(`${root} is not empty: export writes a new layout`);
    }
    await mkdir(join(root, 'blobs'), { recursive: true });
    const c = new Client(target);
    const report: LayoutReport = { repository, tags: [], manifests: 0, blobs: 0, bytes: 0, referrers: 0 };
    let tags: string[];
    if (tag !== undefined) tags = [tag];
    else {
      const r = await c.fetch(`${repository}/tags/list?n=10000`);
      if (!r.ok) await c.fail(r, `list tags of ${repository}`);
      tags = ((await r.json()) as { tags: string[] | null }).tags ?? [];
      if (tags.length === 0) throw new Error(`${repository} has no tags to export`);
    }
    const written = new Set<string>();
    const entries: Descriptor[] = [];

    const blob = async (d: Descriptor) => {
      if (written.has(d.digest)) return;
      const r = await c.fetch(`${repository}/blobs/${d.digest}`);
      if (!r.ok || !r.body) await c.fail(r, `blob ${d.digest}`);
      const file = blobFile(root, d.digest);
      await mkdir(dirname(file), { recursive: true });
      const h = createHash(d.digest.split(':')[0]!);
      let n = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          h.update(chunk);
          n += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(r.body as never), tap, createWriteStream(`${file}.part`));
      const actual = `${d.digest.split(':')[0]}:${h.digest('hex')}`;
      if (actual !== d.digest || n !== d.size) throw new Error(`blob ${d.digest}: received ${n} bytes hashing to ${actual}`);
      await rename(`${file}.part`, file);
      written.add(d.digest);
      report.blobs++;
      report.bytes += n;
    };

    /** Exports a manifest (by tag or digest) and what it references; returns its descriptor. */
    const manifest = async (ref: string): Promise<Descriptor> => {
      const r = await c.fetch(`${repository}/manifests/${ref}`, { headers: { Accept: ACCEPT } });
      if (!r.ok) await c.fail(r, `manifest ${repository}:${ref}`);
      const bytes = Buffer.from(await r.arrayBuffer());
      const digest = r.headers.get('docker-content-digest') ?? digestOf(bytes);
      if (digestOf(bytes, digest.split(':')[0]) !== digest) throw new Error(`manifest ${ref}: the bytes do not match ${digest}`);
      const mediaType = (r.headers.get('content-type') ?? '').split(';')[0]!.trim();
      const desc: Descriptor = { mediaType, digest, size: bytes.length };
      if (written.has(digest)) return desc;
      const m = JSON.parse(bytes.toString('utf8')) as ManifestJson & { artifactType?: string };
      if (m.artifactType) desc.artifactType = m.artifactType;
      if (INDEX_TYPES.has(mediaType)) for (const child of m.manifests ?? []) await manifest(child.digest);
      else for (const d of [...(m.config ? [m.config] : []), ...(m.layers ?? []), ...(m.blobs ?? [])]) await blob(d);
      const file = blobFile(root, digest);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, bytes);
      written.add(digest);
      report.manifests++;
      report.bytes += bytes.length;
      // Referrers (signatures, SBOMs, attestations) of this manifest, and theirs.
      const rr = await c.fetch(`${repository}/referrers/${digest}`);
      if (rr.ok) {
        for (const referrer of ((await rr.json()) as { manifests?: Descriptor[] }).manifests ?? []) {
          if (written.has(referrer.digest)) continue;
          const rd = await manifest(referrer.digest);
          entries.push({ ...rd, ...(referrer.artifactType ? { artifactType: referrer.artifactType } : {}), ...(referrer.annotations ? { annotations: referrer.annotations } : {}) });
          report.referrers++;
        }
      }
      return desc;
    };

    for (const t of tags) {
      const d = await manifest(t);
      entries.unshift({ mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: { [REF_NAME]: t } });
      report.tags.push(t);
    }
    await writeFile(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
    if (tarball) await packTar(root, to);
    return report;
  } finally {
    if (tarball) await rm(root, { recursive: true, force: true });
  }
}

async function* walk(dir: string): AsyncIterable<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

async function packTar(root: string, to: string): Promise<void> {
  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(to));
  for await (const file of walk(root)) {
    const size = (await stat(file)).size;
    const entry = pack.entry({ name: relative(root, file), size, mode: 0o644 });
    await pipeline(createReadStream(file), entry);
  }
  pack.finalize();
  await out;
}

async function unpackTar(file: string, into: string): Promise<void> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(file), extract);
  for await (const entry of extract) {
    const name = entry.header.name.replace(/^\.\//, '');
    if (entry.header.type !== 'file' || name.split('/').includes('..') || name.startsWith('/')) {
      entry.resume();
      continue;
    }
    const path = join(into, name);
    await mkdir(dirname(path), { recursive: true });
    await pipeline(entry, createWriteStream(path));
  }
  await done;
}

/** Pushes every entry of the layout at `from` (a folder or a `.tar`) into `repository`. */
export async function importLayout(target: RegistryTarget, from: string, repository: string): Promise<LayoutReport> {
  const tarball = from.endsWith('.tar');
  const root = tarball ? await mkdtemp(join(tmpdir(), 'berth-import-')) : from;
  try {
    if (tarball) await unpackTar(from, root);
    let index: { manifests?: Descriptor[] };
    try {
      index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
      JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'));
    } catch {
      throw new Error(`${from} is not an OCI image layout (no readable index.json and oci-layout)`);
    }
    const c = new Client(target);
    const report: LayoutReport = { repository, tags: [], manifests: 0, blobs: 0, bytes: 0, referrers: 0 };
    const pushed = new Set<string>();

    const blob = async (d: Descriptor) => {
      if (pushed.has(d.digest)) return;
      const head = await c.fetch(`${repository}/blobs/${d.digest}`, { method: 'HEAD' });
      if (head.status !== 200) {
        const file = blobFile(root, d.digest);
        const size = (await stat(file).catch(() => undefined))?.size;
        if (size === undefined) throw new Error(`the layout lacks blob ${d.digest}`);
        const r = await c.fetch(`${repository}/blobs/uploads/?digest=${encodeURIComponent(d.digest)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
          body: Readable.toWeb(createReadStream(file)) as never,
          duplex: 'half',
        });
        if (r.status !== 201) await c.fail(r, `push blob ${d.digest}`);
        report.blobs++;
        report.bytes += size;
      }
      pushed.add(d.digest);
    };

    /** Pushes the manifest `d` (children and blobs first) under `ref` (a tag) or its digest. */
    const manifest = async (d: Descriptor, ref?: string) => {
      const bytes = await readFile(blobFile(root, d.digest)).catch(() => {
        throw new Error(`the layout lacks manifest ${d.digest}`);
      });
      if (digestOf(bytes, d.digest.split(':')[0]) !== d.digest) throw new Error(`manifest ${d.digest} in the layout does not match its digest`);
      const m = JSON.parse(bytes.toString('utf8')) as ManifestJson;
      const mediaType = m.mediaType ?? d.mediaType;
      if (!pushed.has(d.digest)) {
        if (INDEX_TYPES.has(mediaType)) for (const child of m.manifests ?? []) await manifest(child);
        else for (const b of [...(m.config ? [m.config] : []), ...(m.layers ?? []), ...(m.blobs ?? [])]) await blob(b);
      }
      if (pushed.has(d.digest) && ref === undefined) return;
      const r = await c.fetch(`${repository}/manifests/${ref ?? d.digest}`, { method: 'PUT', headers: { 'Content-Type': mediaType }, body: bytes });
      if (r.status !== 201) await c.fail(r, `push manifest ${d.digest}`);
      if (!pushed.has(d.digest)) report.manifests++;
      pushed.add(d.digest);
    };

    const entries = index.manifests ?? [];
    // Subjects before their referrers: entries without a subject first.
    const subjectOf = async (d: Descriptor) => ((JSON.parse(await readFile(blobFile(root, d.digest), 'utf8').catch(() => '{}')) as ManifestJson).subject ? 1 : 0);
    const order = await Promise.all(entries.map(async (d, i) => ({ d, i, s: await subjectOf(d) })));
    order.sort((a, b) => a.s - b.s || a.i - b.i);
    for (const { d } of order) {
      const tag = d.annotations?.[REF_NAME];
      await manifest(d, tag);
      if (tag) report.tags.push(tag);
      else if (order.find((o) => o.d === d)!.s) report.referrers++;
    }
    return report;
  } finally {
    if (tarball) await rm(root, { recursive: true, force: true });
  }
}
