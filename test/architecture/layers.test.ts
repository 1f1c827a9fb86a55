/**
 * Dependencies point one way: every relative import of every src/**\/*.ts file is read, and an
 * import that points up a layer fails. The layers, top to bottom, are written down here (and
 * drawn in docs/architecture.md); a module may import its own layer, any lower layer, and the
 * shared modules. Type-only imports count: they couple the same way.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../..'));
const SRC = join(ROOT, 'src');

/** Top to bottom. Keys are paths under src/ (a folder, or one file); the longest match wins. */
const LAYERS: Record<string, number> = {
  // 0: entry points and the composition root: they may import anything.
  'main.ts': 0,
  cli: 0,
  cluster: 0,
  // 1: the HTTP edge: server, hooks, the authentication hook, the token endpoint, and the
  // wiring of access control (the rest of auth/ is rules: who is who, below).
  http: 1,
  'auth/http-auth.ts': 1,
  'auth/token-routes.ts': 1,
  'auth/setup.ts': 1,
  // 2: use cases: the OCI Distribution core and the management API.
  registry: 2,
  api: 2,
  // The pull-through cache: a decorator of the registry's services.
  proxy: 2,
  // 3: rules: permissions, quotas and gates, credentials and tokens, lifecycle (GC, retention,
  // trash), jobs, audit, the event outbox and its consumers (webhooks), replication.
  policy: 3,
  events: 3,
  replication: 3,
  // The client of another registry (auth, transport), shared by the cache and replication.
  'registry-client': 3,
  auth: 3,
  lifecycle: 3,
  jobs: 3,
  audit: 3,
  // scanning: package inventory, OSV matching, scan jobs, the vulnerability pull gate.
  scanning: 3,
  signing: 3,
  // Operations rules: the metrics registry, read-only mode, scrub, backup, image layouts.
  ops: 3,
  // 4: the only places that touch SQL or bytes.
  metadata: 4,
  storage: 4,
  // 5: shared by every layer: the domain types (RepoName, Digest, Tag), error tables and the
  // configuration schema.
  domain: 5,
  errors: 5,
  config: 5,
};

/**
 * Known violations in code being reworked elsewhere (the /api/v1 route system): each entry is
 * `importer -> imported`. The test fails when one of them disappears, so the list only shrinks.
 */
const KNOWN: string[] = [];

/**
 * Files that open SQLite databases found inside images (file formats, not Berth's metadata):
 * the rpm database of RHEL and Fedora images is a SQLite file.
 */
const CONTENT_READERS = ['scanning/rpmdb.ts'];

function layerOf(path: string): number {
  let best: [string, number] | undefined;
  for (const [key, layer] of Object.entries(LAYERS)) {
    if ((path === key || path.startsWith(`${key}/`)) && (!best || key.length > best[0].length)) best = [key, layer];
  }
  assert.ok(best, `src/${path} is in no layer: add its folder to LAYERS`);
  return best[1];
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Every relative import in src, as [importer, imported] paths under src/. */
function imports(): [string, string][] {
  const out: [string, string][] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), (m[1] ?? m[2])!)).replace(/\.js$/, '.ts');
      out.push([relative(SRC, file), relative(SRC, target)]);
    }
  }
  return out;
}

describe('layers', () => {
  const all = imports();

  it('reads the imports of every source file', () => {
    assert.ok(all.length > 300, `found ${all.length} imports`);
    for (const [, to] of all) assert.ok(!to.startsWith('..'), `an import leaves src/: ${to}`);
  });

  it('no import points up a layer', () => {
    const violations = all
      .filter(([from, to]) => layerOf(to) < layerOf(from))
      .map(([from, to]) => `${from} -> ${to}`);
    assert.deepEqual(violations.filter((v) => !KNOWN.includes(v)), [], 'imports pointing up a layer');
    assert.deepEqual(KNOWN.filter((k) => !violations.includes(k)), [], 'known violations that are gone: remove them from KNOWN');
  });

  it('queries live in metadata/ only: no other layer imports kysely or a driver', () => {
    const drivers = /(?:^|\n)\s*import\s(?!type\s)[^'";]*['"](kysely|pg|better-sqlite3)['"]/;
    const offenders = sources(SRC)
      .map((f) => relative(SRC, f))
      .filter((f) => !f.startsWith('metadata/') && !CONTENT_READERS.includes(f) && layerOf(f) !== 0 && drivers.test(readFileSync(join(SRC, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
