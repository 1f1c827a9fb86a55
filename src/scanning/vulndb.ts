/**
 * The OSV database's sources: a folder of `*.json` files (read recursively), a `.zip` (as
 * osv.dev publishes per ecosystem; read with yauzl), or a `.tar.gz` / `.tar` (tar-stream over
 * node:zlib). Each yields OSV JSON documents one at a time, so a large database streams. The
 * format of a file is decided by its first bytes, not its name, so an upload needs no name.
 * The import itself (one transaction: all or nothing) is ScanService.importDatabase.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { zipEntries } from './zip.js';

export interface OsvDocument {
  /** Where it came from (a path inside the source), for error messages. */
  name: string;
  text: string;
}

/** Largest single OSV file accepted (the biggest real advisories are well under 1 MiB). */
const MAX_DOCUMENT = 16 * 1024 * 1024;

async function readAll(stream: AsyncIterable<unknown>, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > MAX_DOCUMENT) throw new Error(`${name}: larger than ${MAX_DOCUMENT} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function* fromFolder(root: string, dir = ''): AsyncGenerator<OsvDocument> {
  for (const e of (await readdir(join(root, dir), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) yield* fromFolder(root, rel);
    else if (e.isFile() && e.name.endsWith('.json')) yield { name: rel, text: await readAll(createReadStream(join(root, rel)), rel) };
  }
}

async function* fromZip(path: string): AsyncGenerator<OsvDocument> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  try {
    for await (const entry of zipEntries(zip)) {
      if (entry.fileName.endsWith('/') || !entry.fileName.endsWith('.json')) continue;
      yield { name: entry.fileName, text: await readAll(await zip.openReadStreamPromise(entry), entry.fileName) };
    }
  } finally {
    zip.close();
  }
}

async function* fromTar(stream: Readable): AsyncGenerator<OsvDocument> {
  const extract = tar.extract();
  stream.on('error', (e) => extract.destroy(e));
  stream.pipe(extract);
  for await (const entry of extract) {
    const name = entry.header.name;
    if (entry.header.type === 'file' && name.endsWith('.json')) yield { name, text: await readAll(entry, name) };
    else entry.resume();
  }
}

async function head(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The OSV documents of a folder, zip, tar.gz or tar at `path`; throws on anything else. */
export async function* osvDocuments(path: string): AsyncGenerator<OsvDocument> {
  if ((await stat(path)).isDirectory()) return yield* fromFolder(path);
  const first = await head(path);
  if (first[0] === 0x50 && first[1] === 0x4b) return yield* fromZip(path);
  if (first[0] === 0x1f && first[1] === 0x8b) {
    const gunzip = createGunzip();
    const file = createReadStream(path);
    file.on('error', (e) => gunzip.destroy(e));
    return yield* fromTar(file.pipe(gunzip));
  }
  if (first.length >= 262 && first.subarray(257, 262).toString('latin1') === 'ustar') return yield* fromTar(createReadStream(path));
  throw new Error('not a folder, .zip, .tar.gz or .tar of OSV JSON files');
}
