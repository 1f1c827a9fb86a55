/**
 * How long scan results live and how the pull gate's cache follows them:
 *   - a manifest deleted over /v2 takes its result, inventory and findings with it, unless
 *     another repository still holds the same digest; garbage collection does the same;
 *   - the gate answers warm reads without touching the store, and a change drops only the
 *     verdicts that depend on it (the digest, an index over it, the project's policy).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Digest, RepoName } from '../../src/domain/names.js';
import { OciError } from '../../src/errors/oci.js';
import { SqlScanStore } from '../../src/metadata/sql/scans.js';
import { SecurityGate } from '../../src/scanning/gate.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { sqlOf } from '../helpers/metadata.js';
import { indexManifest, pushImage, sha256 } from '../helpers/oci.js';
import { gzipLayer, hostDpkg, tarOf } from './fixtures.js';

const libc = hostDpkg('libc6');
const ADVISORY = { id: 'DEBIAN-CVE-2099-0500', modified: '2026-01-01T00:00:00Z', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }], affected: [{ package: { ecosystem: 'Debian:12', name: libc.source }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] };
const lifecycle = { gc: { schedule: null, graceSeconds: 3600 }, schedulerEnabled: false };

describe('scan results follow their manifests', { timeout: 120_000 }, () => {
  let t: TestBerth;
  let store: SqlScanStore;
  const layer = () => gzipLayer([{ name: 'etc/os-release', data: 'ID=debian\nVERSION_ID=12\n' }, { name: 'var/lib/dpkg/status', data: `Package: libc6\nStatus: install ok installed\nSource: ${libc.source}\nVersion: ${libc.version}\n` }]);
  const rows = async (digest: string) => {
    const db = sqlOf(t.berth.meta);
    const [results, findings] = await Promise.all([db.selectFrom('scan_results').select('digest').where('digest', '=', digest).execute(), db.selectFrom('scan_findings').select('digest').where('digest', '=', digest).execute()]);
    return { results: results.length, findings: findings.length };
  };
  async function scanned(repo: string, digest: string) {
    for (let i = 0; i < 400; i++) {
      const r = (await (await fetch(`${t.url}/api/v1/repositories/${encodeURIComponent(repo)}/manifests/${digest}/vulnerabilities`)).json()) as { status: string };
      if (r.status === 'done') return;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`${repo}@${digest} was not scanned`);
  }

  before(async () => {
    t = await startBerth({ lifecycle, jobs: { enabled: true, concurrency: 2, pollMs: 20, leaseSeconds: 60 }, scanning: { onPush: true, gateCacheEntries: 1000, databaseRepository: null } });
    store = new SqlScanStore(sqlOf(t.berth.meta), t.berth.config.metadata.driver === 'postgres' ? 'postgres' : 'sqlite');
    const osv = gzipSync(await tarOf([{ name: 'osv/a.json', data: JSON.stringify(ADVISORY) }]));
    assert.equal((await fetch(`${t.url}/api/v1/vulnerability-db`, { method: 'POST', body: new Uint8Array(osv), headers: { 'content-type': 'application/gzip' } })).status, 201);
  });
  after(() => t?.close());

  it('a manifest deleted over /v2 takes its result along, once no repository holds the digest', async () => {
    const img = await pushImage(t.url, 'del/one', 'v1', { layers: [await layer()] });
    // The same image (same digest) in a second repository.
    assert.equal((await pushImage(t.url, 'del/two', 'v1', { layers: img.layers, config: img.config })).digest, img.digest);
    await scanned('del/one', img.digest);
    assert.deepEqual(await rows(img.digest), { results: 1, findings: 1 });
    assert.equal((await fetch(`${t.url}/v2/del/one/manifests/${img.digest}`, { method: 'DELETE' })).status, 202);
    assert.deepEqual(await rows(img.digest), { results: 1, findings: 1 }, 'del/two still holds the image');
    assert.equal((await fetch(`${t.url}/v2/del/two/manifests/${img.digest}`, { method: 'DELETE' })).status, 202);
    assert.deepEqual(await rows(img.digest), { results: 0, findings: 0 });
    assert.equal(await store.result(img.digest), undefined);
  });

  it('garbage collection of an untagged manifest takes its result along', async () => {
    const img = await pushImage(t.url, 'gc/app', 'v1', { layers: [await layer()] });
    await scanned('gc/app', img.digest);
    assert.deepEqual(await rows(img.digest), { results: 1, findings: 1 });
    assert.equal((await fetch(`${t.url}/v2/gc/app/manifests/v1`, { method: 'DELETE' })).status, 202, 'untag');
    assert.deepEqual(await rows(img.digest), { results: 1, findings: 1 }, 'an untagged manifest is still stored');
    await t.berth.lifecycle.runs.run('test', {});
    const r = await t.berth.lifecycle.runs.run('test', { graceMs: 0 });
    assert.ok(r.report.totals.manifest.count >= 1, JSON.stringify(r.report.totals));
    assert.deepEqual(await rows(img.digest), { results: 0, findings: 0 });
  });

  it('built-in scans are timed on /metrics, with the queue length', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const done = Number(/^berth_scan_duration_seconds_count\{scanner="berth",status="done"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(done >= 2, `two images scanned above, /metrics says ${done}`);
    assert.match(text, /^berth_scan_queue_length \d+$/m);
  });
});

describe('the pull gate drops only the verdicts a change touches', { timeout: 60_000 }, () => {
  let t: TestBerth;
  let store: SqlScanStore;
  const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;
  const image = (d: Digest) => ({ digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, content: Buffer.from('{}') });
  const finding = { id: 'CVE-2099-0600', aliases: [], summary: '', package: 'p', ecosystem: 'Debian:12', installedVersion: '1', fixedVersion: null, severity: 'critical', cvss: null };

  before(async () => {
    // No worker and no scan on push: statuses change only when the test asks for a scan.
    t = await startBerth({ jobs: { enabled: false, concurrency: 1, pollMs: 1000, leaseSeconds: 60 }, scanning: { onPush: false, gateCacheEntries: 1000, databaseRepository: null } });
    store = new SqlScanStore(sqlOf(t.berth.meta), t.berth.config.metadata.driver === 'postgres' ? 'postgres' : 'sqlite');
    await store.setPolicy('p', { blockSeverity: 'high', blockUnscanned: false, allowlist: [] }, 1);
    await store.putResult({ digest: digest(1), status: 'done', reason: null, inventory: null, vulnerabilities: [finding], dbVersion: null, scanner: 'berth', scannedAt: 1 }, [], 1);
    await store.putResult({ digest: digest(2), status: 'done', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: 1 }, [], 1);
  });
  after(() => t?.close());

  it('warm reads touch no store; a result change drops its digest and the indexes over it; a policy change its project', async () => {
    const gate = new SecurityGate(store, { maxEntries: 100 });
    const repo = 'p/app' as RepoName;
    const index = { digest: sha256('index') as Digest, mediaType: 'application/vnd.oci.image.index.v1+json', artifactType: null, subject: null, content: indexManifest([{ digest: digest(1), size: 1 }]) };
    // A cached refusal is thrown at once, a fresh one rejects: either way the read is refused.
    const denied = (check: () => Promise<void> | undefined) => assert.rejects(async () => check(), (e: unknown) => e instanceof OciError && e.code === 'DENIED');
    await denied(() => gate.check(repo, image(digest(1))));
    await gate.check(repo, image(digest(2)));
    await denied(() => gate.check(repo, index));
    await gate.check('q/app' as RepoName, image(digest(1)), true); // another project, no policy
    const cold = gate.reads;
    for (let i = 0; i < 100; i++) {
      await denied(() => gate.check(repo, image(digest(1))));
      await gate.check(repo, image(digest(2)));
      await denied(() => gate.check(repo, index));
    }
    assert.equal(gate.reads, cold, 'warm reads made no store call');

    // Digest 1 fixed: its verdict and the index's drop; digest 2's stays.
    await store.putResult({ digest: digest(1), status: 'done', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: 2 }, [], 2);
    gate.onChange(`scan:${digest(1)}`);
    await gate.check(repo, image(digest(2)));
    assert.equal(gate.reads, cold, 'an unrelated verdict stays cached');
    await gate.check(repo, image(digest(1)));
    await gate.check(repo, index);
    assert.equal(gate.reads, cold + 2, 'each dropped verdict is read once');

    // Another project's policy changes nothing here; this project's drops its verdicts.
    gate.onChange('security:q');
    gate.onChange('somerepo/name');
    await gate.check(repo, image(digest(1)));
    assert.equal(gate.reads, cold + 2);
    await store.setPolicy('p', { blockSeverity: 'none', blockUnscanned: true, allowlist: [] }, 3);
    gate.onChange('security:p');
    await denied(() => gate.check(repo, image(digest(3))));
    await gate.check(repo, image(digest(2)));
    assert.ok(gate.reads > cold + 2);

    // Without the feed's promise the gate reads through, every time.
    const before = gate.reads;
    await gate.check(repo, image(digest(2)), false);
    await gate.check(repo, image(digest(2)), false);
    assert.equal(gate.reads, before + 4, 'policy and results read on each unpromised check');
  });

  it('a scan asked for through the server is recorded pending and reaches its gate at once; a re-scan keeps the last verdict', async () => {
    const fresh = await pushImage(t.url, 'live/app', 'v1');
    const scanned = await pushImage(t.url, 'live/app', 'v2');
    await store.putResult({ digest: scanned.digest, status: 'done', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: 1 }, [], 1);
    await store.setPolicy('live', { blockSeverity: 'none', blockUnscanned: true, allowlist: [] }, 1);
    const pull = (tag: string) => fetch(`${t.url}/v2/live/app/manifests/${tag}`);
    const unscanned = await pull('v1');
    assert.equal(unscanned.status, 403);
    assert.match(await unscanned.text(), /\(unscanned\)/);
    assert.equal((await pull('v2')).status, 200);
    // Both scanned again (no worker runs here, so they stay pending).
    for (const d of [fresh.digest, scanned.digest]) assert.equal((await fetch(`${t.url}/api/v1/repositories/live%2Fapp/manifests/${d}/scan`, { method: 'POST' })).status, 202);
    const pending = await pull('v1');
    assert.equal(pending.status, 403);
    assert.match(await pending.text(), /\(pending\)/, 'the new status reached the cached verdict');
    assert.equal((await store.result(scanned.digest))!.status, 'pending');
    assert.equal((await pull('v2')).status, 200, 'judged by the last finished scan while the new one waits');
  });
});
