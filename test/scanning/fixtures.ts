/**
 * What the scanning tests build from real package databases: tar layers (gzip by node:zlib,
 * zstd by the zstd tool), an Alpine `installed` database and an rpm sqlite database written
 * in their real formats, and OSV advisories aimed at the versions actually installed on this
 * machine (its dpkg status, its Python dist-info METADATA, this checkout's npm packages), so
 * the expected findings follow from the data, not from constants.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import tar from 'tar-stream';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

export type Entry = { name: string; data?: Buffer | string; type?: 'file' | 'directory'; mode?: number };

export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name, ...(e.mode !== undefined ? { mode: e.mode } : {}) }, typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0)));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const gzipLayer = async (entries: Entry[]): Promise<Buffer> => gzipSync(await tarOf(entries));
export const zstdLayer = async (entries: Entry[]): Promise<Buffer> => execFileSync('zstd', ['-q', '-c', '-3'], { input: await tarOf(entries), maxBuffer: 1 << 30 });

/** One package of this machine's dpkg status. */
export function hostDpkg(pkg: string): { version: string; source: string } {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  const para = status.split(/\n\n/).find((p) => p.startsWith(`Package: ${pkg}\n`) && /\nStatus: .* installed\n/.test(p));
  if (!para) throw new Error(`${pkg} is not installed here`);
  return { version: /\nVersion: (.+)/.exec(para)![1]!, source: /\nSource: (\S+)/.exec(para)?.[1] ?? pkg };
}

/** The installed binary packages of this machine built from source package `source`, sorted. */
export function hostBinariesOf(source: string): string[] {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  return status
    .split(/\n\n/)
    .filter((p) => /\nStatus: .* installed\n/.test(p))
    .filter((p) => (/\nSource: (\S+)/.exec(p)?.[1] ?? /^Package: (\S+)/.exec(p)![1]) === source)
    .map((p) => /^Package: (\S+)/.exec(p)![1]!)
    .sort();
}

/** This machine's Python dist-info folders (name, version, METADATA bytes). */
export function hostWheels(): { dir: string; name: string; version: string; metadata: Buffer }[] {
  const base = '/usr/lib/python3/dist-packages';
  return readdirSync(base)
    .filter((d) => d.endsWith('.dist-info'))
    .sort()
    .map((dir) => {
      const metadata = readFileSync(join(base, dir, 'METADATA'));
      const text = metadata.toString('utf8');
      return { dir, name: /^Name: (.+)$/m.exec(text)![1]!.trim(), version: /^Version: (.+)$/m.exec(text)![1]!.trim(), metadata };
    });
}

/** This checkout's package.json of an installed npm package. */
export function npmPackage(name: string): { version: string; json: Buffer } {
  const json = readFileSync(join(ROOT, 'node_modules', name, 'package.json'));
  return { version: (JSON.parse(json.toString('utf8')) as { version: string }).version, json };
}

/** An apk `installed` database in apk-tools' format (one paragraph per package). */
export function apkInstalled(pkgs: { name: string; version: string; origin?: string }[]): string {
  return pkgs.map((p) => `C:Q1${Buffer.from(p.name).toString('base64')}=\nP:${p.name}\nV:${p.version}\nA:x86_64\nS:1000\nI:4000\nT:${p.name} package\nU:https://example.org\nL:MIT\no:${p.origin ?? p.name}\nm:Maintainer <m@example.org>\nt:1700000000\nc:0123456789abcdef\n`).join('\n') + '\n';
}

/** An rpm header blob as the sqlite rpmdb stores it: index count, data size, entries, data. */
export function rpmHeader(tags: { tag: number; type: 4 | 6; value: string | number }[]): Buffer {
  const data: Buffer[] = [];
  const index: Buffer[] = [];
  let offset = 0;
  for (const t of [...tags].sort((a, b) => a.tag - b.tag)) {
    let bytes: Buffer;
    if (t.type === 4) {
      // INT32 values are 4-byte aligned.
      const pad = (4 - (offset % 4)) % 4;
      if (pad) {
        data.push(Buffer.alloc(pad));
        offset += pad;
      }
      bytes = Buffer.alloc(4);
      bytes.writeInt32BE(t.value as number);
    } else bytes = Buffer.from(`${t.value}\0`);
    const e = Buffer.alloc(16);
    e.writeUInt32BE(t.tag, 0);
    e.writeUInt32BE(t.type, 4);
    e.writeInt32BE(offset, 8);
    e.writeUInt32BE(1, 12);
    index.push(e);
    data.push(bytes);
    offset += bytes.length;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(index.length, 0);
  head.writeUInt32BE(offset, 4);
  return Buffer.concat([head, ...index, ...data]);
}

/** A sqlite rpmdb (the schema rpm 4.16+ creates) holding `pkgs`. */
export function rpmdb(pkgs: { name: string; version: string; release: string; epoch?: number; sourcerpm: string }[]): Buffer {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
  db.exec('CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(key, hnum, idx))');
  const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
  for (const p of pkgs) {
    insert.run(
      rpmHeader([
        { tag: 1000, type: 6, value: p.name },
        { tag: 1001, type: 6, value: p.version },
        { tag: 1002, type: 6, value: p.release },
        ...(p.epoch !== undefined ? [{ tag: 1003, type: 4 as const, value: p.epoch }] : []),
        { tag: 1022, type: 6, value: 'x86_64' },
        { tag: 1044, type: 6, value: p.sourcerpm },
      ]),
    );
  }
  const bytes = db.serialize();
  db.close();
  return bytes;
}

const schema = (name: string): object => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/schemas', name), 'utf8')) as object;

/** A validator of the vendored schema `main` (draft 2020-12 or draft-07), with the schemas it refers to. */
async function validator(main: string, refs: string[], draft2020: boolean): Promise<(doc: unknown) => string | null> {
  const require = createRequire(import.meta.url);
  type AjvLike = { addSchema(s: object): void; compile(s: object): ((d: unknown) => boolean) & { errors?: unknown }; errorsText(e: unknown): string };
  const Impl = (draft2020 ? require('ajv/dist/2020') : require('ajv')).default as new (o: object) => AjvLike;
  const ajv = new Impl({ strict: false, allErrors: true });
  (require('ajv-formats').default as (a: AjvLike) => void)(ajv);
  for (const r of refs) ajv.addSchema(schema(r));
  const validate = ajv.compile(schema(main));
  return (doc) => (validate(doc) ? null : ajv.errorsText(validate.errors));
}

/** Validates `docs` against the vendored OSV schema; throws naming the first invalid one. */
export async function validateOsv(docs: unknown[]): Promise<void> {
  const check = await validator('osv.schema.json', [], true);
  for (const d of docs) {
    const e = check(d);
    if (e) throw new Error(`${(d as { id: string }).id} does not follow the OSV schema: ${e}`);
  }
}

/** Errors of `doc` against the official SPDX 2.3 schema (null when valid). */
export const spdxErrors = async (doc: unknown) => (await validator('spdx-2.3.schema.json', [], false))(doc);
/** Errors of `doc` against the official CycloneDX 1.6 schema (null when valid). */
export const cycloneDxErrors = async (doc: unknown) => (await validator('cyclonedx-1.6.schema.json', ['cyclonedx-spdx.schema.json', 'cyclonedx-jsf-0.82.schema.json'], false))(doc);
