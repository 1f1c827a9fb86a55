/**
 * OCI image layouts in and out with the real `berth export` / `berth import` commands, checked
 * by the real tools: a layout umoci made (two platforms under an index, plus a referrer) is
 * imported, exported again, and the two layouts hold the same blobs byte for byte and the same
 * tagged digests; skopeo reads the exported layout (and a .tar round trip keeps every digest),
 * umoci lists it, and an export equals what `skopeo copy` writes from the registry.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { LayoutReport } from '../../src/ops/layout.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { initLayout, readBlob, readIndexJson, umociImage, writeBlob, writeIndex, type Descriptor } from '../helpers/layout.js';
import { missingTools, run } from '../helpers/tools.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REF = 'org.opencontainers.image.ref.name';

function berth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BERTH_CONFIG: '', BERTH_CLI_CONFIG: '/nonexistent/cli.json' }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<LayoutReport> {
  const r = await berth([...args, '--json']);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as LayoutReport;
}

/** Every blob file of a layout, digest -> bytes. */
async function blobs(layout: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const hex of await readdir(join(layout, 'blobs', 'sha256'))) out.set(`sha256:${hex}`, await readBlob(layout, `sha256:${hex}`));
  return out;
}

const tagged = async (layout: string) =>
  Object.fromEntries((await readIndexJson(layout)).manifests.filter((m) => m.annotations?.[REF]).map((m) => [m.annotations![REF]!, m.digest]));

describe('OCI layout export and import', { skip: missingTools('skopeo', 'umoci') }, () => {
  let b: TestBerth;
  let work: string;
  let src: string;
  let referrer: Descriptor;
  /** The referrer's manifest, config and layer. */
  let referrerBlobs: string[];
  const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 120_000 });
  // skopeo's blob-info cache outlives the test: a fresh namespace per run.
  const ns = `lay${Date.now().toString(36)}`;

  before(async () => {
    b = await startBerth();
    work = await mkdtemp(join(tmpdir(), 'berth-layout-'));
    src = join(work, 'umoci');
    await initLayout(src);
    const amd = await umociImage(src, 'v1', { scratch: work, files: { '/etc/motd': 'hello\n', '/data.txt': 'x'.repeat(4000) } });
    const arm = await umociImage(src, 'v1-arm', { scratch: work, architecture: 'arm64', files: { '/etc/motd': 'hello arm\n' } });
    await writeIndex(src, 'multi', [
      { ...amd, platform: { architecture: 'amd64', os: 'linux' } },
      { ...arm, platform: { architecture: 'arm64', os: 'linux' } },
    ]);
    // A referrer of v1 (a signature-like artifact), listed in index.json without a tag.
    const empty = await writeBlob(src, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const sig = await writeBlob(src, Buffer.from(`signature ${ns}`), 'application/vnd.example.signature');
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example.signature', config: empty, layers: [sig], subject: { mediaType: amd.mediaType, digest: amd.digest, size: amd.size } }));
    referrer = await writeBlob(src, manifest, 'application/vnd.oci.image.manifest.v1+json');
    const index = await readIndexJson(src);
    // umoci keeps the single-platform tags; the index names v1 (amd64) for the multi tag's children.
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF] !== 'v1-arm');
    index.manifests.push({ ...referrer, artifactType: 'application/vnd.example.signature' } as Descriptor);
    await writeFile(join(src, 'index.json'), JSON.stringify(index));
    // umoci keeps every intermediate blob of its edits; drop what index.json does not reach.
    await run('umoci', ['gc', '--layout', src]);
    referrerBlobs = [referrer.digest, empty.digest, sig.digest];
  });
  after(async () => {
    await b?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('imports a umoci layout and exports it back with the same blobs and digests, referrers included', async () => {
    const imported = await ok(['import', src, `${ns}/app`, '--registry', b.host]);
    assert.deepEqual(imported.tags.sort(), ['multi', 'v1']);
    assert.equal(imported.referrers, 1);
    // The registry serves the referrer for its subject.
    const v1 = (await tagged(src)).v1!;
    const refs = (await (await fetch(`${b.url}/v2/${ns}/app/referrers/${v1}`)).json()) as { manifests: Descriptor[] };
    assert.deepEqual(refs.manifests.map((m) => m.digest), [referrer.digest]);

    const out = join(work, 'export');
    const exported = await ok(['export', `${ns}/app`, '--to', out, '--registry', b.host]);
    assert.deepEqual(exported.tags.sort(), ['multi', 'v1']);
    assert.deepEqual(await tagged(out), await tagged(src));
    assert.ok((await readIndexJson(out)).manifests.some((m) => m.digest === referrer.digest && !m.annotations?.[REF]), 'the referrer is in the exported index');
    const [a, c] = [await blobs(src), await blobs(out)];
    assert.deepEqual([...c.keys()].sort(), [...a.keys()].sort(), 'the same blobs');
    for (const [d, bytes] of a) assert.deepEqual(c.get(d), bytes, `blob ${d} byte for byte`);

    // The real tools read the exported layout.
    const listed = (await run('umoci', ['ls', '--layout', out])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(listed, ['multi', 'v1']);
    await skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${out}:multi`, `docker://${b.host}/${ns}/viaskopeo:multi`);
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${b.host}/${ns}/viaskopeo:multi`);
    assert.deepEqual(Buffer.from(raw.stdout), await readBlob(src, (await tagged(src)).multi!));
  });

  it('round-trips a .tar and matches what skopeo copies out of the registry', async () => {
    const tarball = join(work, 'app.tar');
    await ok(['export', `${ns}/app:multi`, '--to', tarball, '--registry', b.host]);
    const again = await ok(['import', tarball, `${ns}/tarred`, '--registry', b.host]);
    assert.deepEqual(again.tags, ['multi']);
    const digest = (await fetch(`${b.url}/v2/${ns}/tarred/manifests/multi`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.index.v1+json' } })).headers.get('docker-content-digest');
    assert.equal(digest, (await tagged(src)).multi);

    const bySkopeo = join(work, 'skopeo-out');
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${b.host}/${ns}/app:multi`, `oci:${bySkopeo}:multi`);
    const byBerth = join(work, 'berth-out');
    await ok(['export', `${ns}/app:multi`, '--to', byBerth, '--registry', b.host]);
    assert.deepEqual(await tagged(byBerth), await tagged(bySkopeo));
    const [s, e] = [await blobs(bySkopeo), await blobs(byBerth)];
    // Berth's export also carries the referrer (skopeo copies images, not their referrers).
    for (const [d, bytes] of s) assert.deepEqual(e.get(d), bytes, `blob ${d} as skopeo wrote it`);
    const extra = [...e.keys()].filter((d) => !s.has(d));
    assert.ok(extra.includes(referrer.digest), 'the export carries the referrer');
    for (const d of extra) assert.ok(referrerBlobs.includes(d), `${d}: only the referrer's blobs are extra`);
  });

  it('refuses a missing layout, a bad repository name and a non-empty target', async () => {
    const missing = await berth(['import', join(work, 'nope'), `${ns}/x`, '--registry', b.host]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /is not an OCI image layout/);
    const bad = await berth(['export', 'Bad Name:v1', '--to', join(work, 'bad'), '--registry', b.host]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a valid repository name/);
    const busy = await berth(['export', `${ns}/app:v1`, '--to', src, '--registry', b.host]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /is not empty/);
    const unknown = await berth(['export', `${ns}/none:v1`, '--to', join(work, 'unknown'), '--registry', b.host]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /MANIFEST_UNKNOWN|NAME_UNKNOWN/);
  });
});
