/**
 * The pull gate across nodes: two Berth processes over one PostgreSQL database and one blob
 * folder. A verdict cached on node B must follow a policy changed on node A and findings
 * changed by a rescan that node A's worker ran, on the next pull, with no refresh interval:
 * each change is announced on the change feed (LISTEN/NOTIFY) and B drops just those
 * verdicts before it answers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pushImage } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { postgresNodeEnv, startBerthProcess, type BerthProcess } from '../helpers/node-process.js';
import { gzipLayer, hostDpkg, tarOf } from './fixtures.js';

const skip = await postgresSkipReason();
const libc = hostDpkg('libc6');
const advisory = (id: string, score: string) => ({ id, modified: '2026-01-01T00:00:00Z', severity: [{ type: 'CVSS_V3', score }], affected: [{ package: { ecosystem: 'Debian:12', name: libc.source }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] });
const MEDIUM = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N';
const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

describe('the vulnerability gate across nodes', { skip, timeout: 120_000 }, () => {
  let db: TestDatabase;
  let dir: string;
  let a: BerthProcess;
  let b: BerthProcess;

  const json = async (url: string, method: string, path: string, body?: unknown, type = 'application/json') => {
    const r = await fetch(`${url}/api/v1${path}`, { method, ...(body !== undefined ? { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body), headers: { 'content-type': type } } : {}) });
    const text = await r.text();
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const importDb = async (docs: unknown[]) => json(a.url, 'POST', '/vulnerability-db', gzipSync(await tarOf(docs.map((d, i) => ({ name: `osv/${i}.json`, data: JSON.stringify(d) })))), 'application/gzip');
  const pullB = (tag: string) => fetch(`${b.url}/v2/gate/app/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });

  before(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-scan-nodes-'));
    const env = (n: string) => ({ ...postgresNodeEnv(db.url, join(dir, 'storage'), join(dir, n)), BERTH_JOBS__POLL_MS: '50' });
    // Only node A runs jobs: the scans and the rescan happen there, the pulls on B.
    a = await startBerthProcess({ env: env('a') });
    b = await startBerthProcess({ env: { ...env('b'), BERTH_JOBS__ENABLED: 'false' } });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a policy changed on A and findings changed by a rescan on A take effect on B at the next pull', async () => {
    await importDb([advisory('DEBIAN-CVE-2099-0700', MEDIUM)]);
    const img = await pushImage(a.url, 'gate/app', 'v1', { layers: [await gzipLayer([{ name: 'etc/os-release', data: 'ID=debian\nVERSION_ID=12\n' }, { name: 'var/lib/dpkg/status', data: `Package: libc6\nStatus: install ok installed\nSource: ${libc.source}\nVersion: ${libc.version}\n` }])] });
    const report = () => json(b.url, 'GET', `/repositories/gate%2Fapp/manifests/${img.digest}/vulnerabilities`);
    for (let i = 0; (await report()).status !== 'done'; i++) {
      assert.ok(i < 400, 'the scan finished');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual((await report()).vulnerabilities.map((v: { id: string; severity: string }) => [v.id, v.severity]), [['DEBIAN-CVE-2099-0700', 'medium']]);

    await json(a.url, 'PUT', '/projects/gate/security', { blockSeverity: 'high' });
    for (let i = 0; i < 20; i++) assert.equal((await pullB('v1')).status, 200, 'medium passes a high threshold (and B caches that)');

    // A critical advisory: the rescan on A changes the findings; B must refuse at once.
    const version = (await importDb([advisory('DEBIAN-CVE-2099-0700', MEDIUM), advisory('DEBIAN-CVE-2099-0701', CRITICAL)])).version;
    for (let i = 0; (await report()).database.version !== version; i++) {
      assert.ok(i < 400, 'the rescan finished');
      await new Promise((r) => setTimeout(r, 25));
    }
    const denied = await pullB('v1');
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /DEBIAN-CVE-2099-0701 \(critical\)/);

    // The allowlist set on A lets B serve it at once; removing the policy too.
    await json(a.url, 'PUT', '/projects/gate/security', { blockSeverity: 'high', allowlist: [{ id: 'DEBIAN-CVE-2099-0701' }] });
    assert.equal((await pullB('v1')).status, 200);
    await json(a.url, 'PUT', '/projects/gate/security', { blockSeverity: 'medium', allowlist: [{ id: 'DEBIAN-CVE-2099-0701' }] });
    assert.equal((await pullB('v1')).status, 403);
  });
});
