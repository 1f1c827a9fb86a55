/**
 * `berth scan`, `berth vulns`, `berth sbom`, `berth vulndb` and `berth scanner`: vulnerability scanning through
 * the management API of the server `berth login` saved. Tables by default, JSON with --json.
 * `berth vulndb import PATH` uploads a .zip, .tar.gz or .tar as it is, and packs a folder of
 * OSV JSON files into a .tar.gz on the fly (streamed, never held whole in memory).
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Command } from 'commander';
import { auth, call, listAll, loadLogin, output } from './client.js';

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'unknown'];

/** `repo:tag` or `repo@sha256:...` -> repository and digest (a tag is resolved through the API). */
async function resolveImage(image: string): Promise<{ repo: string; digest: string }> {
  const at = image.indexOf('@');
  if (at > 0) return { repo: image.slice(0, at), digest: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  const [repo, tag] = colon > image.lastIndexOf('/') ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
  const found = (await listAll(`/repositories/${encodeURIComponent(repo)}/tags`)).find((t: { name: string }) => t.name === tag);
  if (!found) throw new Error(`${repo} has no tag ${tag}`);
  return { repo, digest: found.digest as string };
}

const manifestPath = (i: { repo: string; digest: string }) => `/repositories/${encodeURIComponent(i.repo)}/manifests/${i.digest}`;

function printSummary(image: string, r: { status: string; reason: string | null; database: { version: string | null }; summary: Record<string, number> }): void {
  const counts = SEVERITY_ORDER.map((s) => `${s} ${r.summary[s] ?? 0}`).join(', ');
  process.stdout.write(`${image}: ${r.status}${r.reason ? ` (${r.reason})` : ''}; ${counts}; database ${r.database.version ?? 'none'}\n`);
}

async function* folderTarGz(root: string): AsyncGenerator<Buffer> {
  const tar = (await import('tar-stream')).default;
  const pack = tar.pack();
  const gzip = createGzip();
  pack.pipe(gzip);
  const fill = (async () => {
    const walk = async (dir: string): Promise<void> => {
      for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && e.name.endsWith('.json')) {
          const size = (await stat(p)).size;
          await new Promise<void>((resolve, reject) => {
            const entry = pack.entry({ name: relative(root, p), size }, (err) => (err ? reject(err) : resolve()));
            createReadStream(p).on('error', reject).pipe(entry);
          });
        }
      }
    };
    await walk(root);
    pack.finalize();
  })();
  fill.catch((e) => gzip.destroy(e));
  for await (const c of gzip) yield c as Buffer;
  await fill;
}

async function contentTypeOf(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(262);
    const { bytesRead } = await fh.read(b, 0, 262, 0);
    if (b[0] === 0x50 && b[1] === 0x4b) return 'application/zip';
    if (b[0] === 0x1f && b[1] === 0x8b) return 'application/gzip';
    if (bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'application/x-tar';
    throw new Error(`${path} is not a folder, .zip, .tar.gz or .tar`);
  } finally {
    await fh.close();
  }
}

export function registerScanCommands(program: Command): void {
  program
    .command('scan <image>')
    .description('scan an image (repo:tag or repo@digest) now and wait for the result')
    .option('--no-wait', 'only queue the scan')
    .option('--timeout <seconds>', 'how long to wait', '300')
    .option('--json')
    .action(async (image: string, o: { wait: boolean; timeout: string; json?: boolean }) => {
      const i = await resolveImage(image);
      const before = await call('GET', `${manifestPath(i)}/vulnerabilities`);
      await call('POST', `${manifestPath(i)}/scan`);
      if (!o.wait) return void process.stdout.write(`${image}: scan queued\n`);
      const deadline = Date.now() + Number(o.timeout) * 1000;
      for (;;) {
        const r = await call('GET', `${manifestPath(i)}/vulnerabilities`);
        const settled = (r.status === 'done' || r.status === 'failed' || r.status === 'unsupported') && (r.scannedAt ?? 0) > (before.scannedAt ?? 0);
        if (settled) {
          if (o.json) output(r, true);
          else printSummary(image, r);
          if (r.status === 'failed') process.exitCode = 1;
          return;
        }
        if (Date.now() > deadline) throw new Error(`${image}: the scan did not finish within ${o.timeout} s (status ${r.status})`);
        await new Promise((res) => setTimeout(res, 500));
      }
    });

  program
    .command('vulns <image>')
    .description("an image's vulnerabilities (repo:tag or repo@digest)")
    .option('--severity <level>', 'only at or above this severity (low, medium, high, critical)')
    .option('--fixed', 'only those with a fixed version')
    .option('--unfixed', 'only those without a fixed version')
    .option('--package <name>', 'only this package')
    .option('--json')
    .action(async (image: string, o: { severity?: string; fixed?: boolean; unfixed?: boolean; package?: string; json?: boolean }) => {
      const i = await resolveImage(image);
      const q = new URLSearchParams();
      if (o.severity) q.set('severity', o.severity);
      if (o.fixed) q.set('fixed', 'true');
      if (o.unfixed) q.set('fixed', 'false');
      if (o.package) q.set('package', o.package);
      const r = await call('GET', `${manifestPath(i)}/vulnerabilities${q.size ? `?${q}` : ''}`);
      if (o.json) return output(r, true);
      printSummary(image, r);
      output(r.vulnerabilities, false, ['severity', 'id', 'package', 'installedVersion', 'fixedVersion', { key: 'cvss', format: (v) => String((v as { score: number }).score) }, 'aliases']);
    });

  program
    .command('sbom <image>')
    .description("an image's SBOM on stdout")
    .option('--format <format>', 'spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)', 'spdx')
    .action(async (image: string, o: { format: string }) => {
      const i = await resolveImage(image);
      output(await call('GET', `${manifestPath(i)}/sbom?format=${encodeURIComponent(o.format)}`), true);
    });

  const db = program.command('vulndb').description('the vulnerability database (OSV)');
  db.command('status')
    .option('--json')
    .action(async (o: { json?: boolean }) => output(await call('GET', '/vulnerability-db'), !!o.json, ['version', 'advisories', { key: 'updatedAt', format: (v) => new Date(v as number).toISOString() }]));
  db.command('import <path>')
    .description('import OSV advisories from a folder, .zip, .tar.gz or .tar (all or nothing); stored inventories are matched again')
    .option('--json')
    .action(async (path: string, o: { json?: boolean }) => {
      const isDir = (await stat(path)).isDirectory();
      const login = auth(loadLogin());
      const body = isDir ? Readable.from(folderTarGz(path)) : createReadStream(path);
      const r = await fetch(`${login.url.replace(/\/$/, '')}/api/v1/vulnerability-db`, {
        method: 'POST',
        headers: { Authorization: login.authorization, 'Content-Type': isDir ? 'application/gzip' : await contentTypeOf(path) },
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      const text = await r.text();
      const parsed = text ? JSON.parse(text) : null;
      if (!r.ok) throw new Error(`${r.status} ${parsed?.title ?? ''}: ${parsed?.detail ?? text}`.trim());
      output(parsed, !!o.json, ['imported', 'version']);
    });
  const scanner = program.command('scanner').description('external scanners (Harbor Pluggable Scanner API adapters; admins only)');
  scanner
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => output((await call('GET', '/scanners')).scanners, !!o.json, ['name', 'url', 'registryUrl', 'default', 'hasAuthorization']));
  scanner
    .command('set <name> <url>')
    .description('register or replace an adapter (its metadata is checked first); --default sends every scan to it')
    .requiredOption('--registry-url <url>', 'the URL the adapter reaches this registry at')
    .option('--authorization <header>', 'Authorization header sent to the adapter (stored sealed); or BERTH_SCANNER_AUTHORIZATION')
    .option('--default', 'scan every image with this scanner instead of the built-in one')
    .option('--json')
    .action(async (name: string, url: string, o: { registryUrl: string; authorization?: string; default?: boolean; json?: boolean }) => {
      const authorization = o.authorization ?? process.env.BERTH_SCANNER_AUTHORIZATION ?? null;
      const r = await call('PUT', `/scanners/${encodeURIComponent(name)}`, { url, registryUrl: o.registryUrl, authorization, default: !!o.default });
      if (o.json) return output(r, true);
      const m = r.metadata.scanner as { name?: string; version?: string };
      process.stdout.write(`scanner ${name}: ${m.name ?? '?'} ${m.version ?? ''}${r.scanner.default ? ' (default)' : ''}\n`);
    });
  scanner
    .command('delete <name>')
    .action(async (name: string) => {
      await call('DELETE', `/scanners/${encodeURIComponent(name)}`);
      process.stdout.write(`scanner ${name} removed\n`);
    });

  db.command('rescan')
    .description('match every stored inventory against the database again')
    .action(async () => {
      const r = await call('POST', '/vulnerability-db/rescan');
      process.stdout.write(r.queued ? 'rescan queued\n' : 'a rescan is already queued\n');
    });
}
