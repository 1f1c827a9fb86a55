/**
 * The scanning store's contract (src/metadata/scan-store.ts): the OSV database, scan results
 * with findings, search, security policies, state counters and the transaction that carries
 * an audit entry. Every implementation runs it unchanged, through interface methods only;
 * afterEach fails a test that left a row behind (the vulnerability database, the state
 * counters and the audit log are kept by contract).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScanStore } from '../../src/metadata/scan-store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { digest, manifest, repo, storeHooks } from './store-fixtures.js';

export interface ScanHarness {
  scans: ScanStore;
  meta: MetadataStore;
  rowCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const KEPT: ReadonlySet<string> = new Set(['vuln_advisories', 'vuln_affected', 'vuln_aliases', 'scanning_state', 'audit_events']);

const advisory = (id: string, affected: { family: string; name: string }[]) => ({
  id,
  modified: '2026-01-01T00:00:00Z',
  aliases: [`CVE-${id}`],
  summary: `summary of ${id}`,
  severity: 'high',
  cvss: { score: 7.5, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' },
  affected: affected.map((a) => ({ ...a, entry: { ecosystem: a.family, name: a.name, ranges: [], versions: ['1'] } })),
});

export function scanStoreSuite(name: string, open: () => Promise<ScanHarness>, skip?: string): void {
  describe(`Scan store contract: ${name}`, { skip }, () => {
    let s: ScanStore;
    let meta: MetadataStore;
    storeHooks(open, (h) => {
      s = h.scans;
      meta = h.meta;
    }, KEPT);

    it('stores advisories, replaces them by id, and finds affected entries by family and package', async () => {
      const before = await s.advisoryCount();
      await s.putAdvisories([advisory('S-1', [{ family: 'Debian', name: 'openssl' }, { family: 'Alpine', name: 'openssl' }]), advisory('S-2', [{ family: 'npm', name: 'lodash' }])], 1);
      assert.equal(await s.advisoryCount(), before + 2);
      const found = await s.affectedBy([{ family: 'Debian', name: 'openssl' }, { family: 'npm', name: 'lodash' }, { family: 'npm', name: 'openssl' }]);
      assert.deepEqual(found.map((f) => [f.advisory.id, (f.entry as { ecosystem: string }).ecosystem]).sort(), [['S-1', 'Debian'], ['S-2', 'npm']]);
      assert.deepEqual(found.find((f) => f.advisory.id === 'S-1')!.advisory, { id: 'S-1', modified: '2026-01-01T00:00:00Z', aliases: ['CVE-S-1'], summary: 'summary of S-1', severity: 'high', cvss: { score: 7.5, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' } });
      // A newer version of S-1 no longer names Debian.
      await s.putAdvisories([{ ...advisory('S-1', [{ family: 'Alpine', name: 'openssl' }]), severity: 'low' }], 2);
      assert.equal(await s.advisoryCount(), before + 2);
      assert.deepEqual(await s.affectedBy([{ family: 'Debian', name: 'openssl' }]), []);
      assert.deepEqual((await s.affectedBy([{ family: 'Alpine', name: 'openssl' }])).map((f) => f.advisory.severity), ['low']);
      assert.deepEqual(await s.affectedBy([]), []);
      // Many names in one lookup (more than one query's worth).
      const many = Array.from({ length: 1000 }, (_, i) => ({ family: 'npm', name: `pkg-${i}` }));
      assert.deepEqual((await s.affectedBy([...many, { family: 'npm', name: 'lodash' }])).map((f) => f.advisory.id), ['S-2']);
    });

    it('keeps one result per digest with its findings, pages inventories, and finds images by identifier or package', async () => {
      const r = repo('scanproj/app');
      const m1 = manifest('scan-m1');
      const m2 = manifest('scan-m2');
      await meta.manifests.insert(r, m1, 1);
      await meta.manifests.insert(r, m2, 1);
      await meta.tags.set(r, 'v1' as never, m1.digest, 1);
      const inv = { os: null, packages: [{ name: 'openssl', version: '1', ecosystem: 'Debian:12', type: 'deb', path: 'x' }] };
      await s.putResult({ digest: m1.digest, status: 'running', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: null }, [], 5);
      assert.equal((await s.result(m1.digest))!.status, 'running');
      await s.putAdvisories([advisory('S-9', [{ family: 'Debian', name: 'openssl' }])], 1);
      await s.putResult({ digest: m1.digest, status: 'done', reason: null, inventory: inv, vulnerabilities: [{ id: 'S-9' }], dbVersion: 'v1', scanner: 'berth', scannedAt: 10 }, [{ advisoryId: 'S-9', package: 'openssl', severity: 'high' }, { advisoryId: 'OTHER-1', package: 'libssl', severity: 'low' }], 10);
      await s.putResult({ digest: m2.digest, status: 'failed', reason: 'bad layer', inventory: null, vulnerabilities: [], dbVersion: 'v1', scanner: 'berth', scannedAt: 11 }, [], 11);
      assert.deepEqual(await s.result(m1.digest), { digest: m1.digest, status: 'done', reason: null, inventory: inv, vulnerabilities: [{ id: 'S-9' }], dbVersion: 'v1', scanner: 'berth', scannedAt: 10, updatedAt: 10, previousStatus: null });
      assert.equal(await s.result(digest('never')), undefined);
      assert.deepEqual((await s.results([m1.digest, m2.digest, digest('never')])).map((x) => x.status).sort(), ['done', 'failed']);

      assert.deepEqual((await s.inventories(null, 10)).map((x) => x.digest), [m1.digest], 'only results with an inventory');
      assert.deepEqual(await s.inventories(m1.digest, 10), []);

      // By the advisory's id or one of its aliases.
      assert.deepEqual(await s.findDigests({ advisoryId: 'CVE-S-9' }, 10), [{ digest: m1.digest, advisoryId: 'S-9', package: 'openssl', severity: 'high' }]);
      assert.deepEqual(await s.findDigests({ advisoryId: 'S-9' }, 10), [{ digest: m1.digest, advisoryId: 'S-9', package: 'openssl', severity: 'high' }]);
      assert.deepEqual((await s.findDigests({ package: 'libssl' }, 10)).map((f) => f.advisoryId), ['OTHER-1']);
      assert.deepEqual(await s.findDigests({ advisoryId: 'CVE-S-1' }, 10), []);

      // Findings replaced without touching the inventory.
      assert.equal((await s.inventories(null, 10))[0]!.vulnerabilitiesJson, JSON.stringify([{ id: 'S-9' }]));
      await s.setFindings([{ digest: m1.digest, vulnerabilitiesJson: JSON.stringify([{ id: 'OTHER-1' }]), findings: [{ advisoryId: 'OTHER-1', package: 'libssl', severity: 'low' }] }], 'v1b', 15);
      await s.setFindings([], 'v1b', 15);
      assert.deepEqual(await s.result(m1.digest), { digest: m1.digest, status: 'done', reason: null, inventory: inv, vulnerabilities: [{ id: 'OTHER-1' }], dbVersion: 'v1b', scanner: 'berth', scannedAt: 15, updatedAt: 15, previousStatus: null });
      assert.deepEqual(await s.findDigests({ package: 'openssl' }, 10), []);
      await s.markMatched([m1.digest], 'v1c', 16);
      assert.deepEqual([(await s.result(m1.digest))!.dbVersion, (await s.result(m1.digest))!.scannedAt], ['v1c', 16]);
      const byDigest = (a: { digest: string }, b: { digest: string }) => (a.digest < b.digest ? -1 : 1);
      assert.deepEqual((await s.holders([m1.digest, m2.digest])).sort(byDigest), [
        { digest: m1.digest, repository: 'scanproj/app', tags: ['v1'] },
        { digest: m2.digest, repository: 'scanproj/app', tags: [] },
      ].sort(byDigest));

      // A new result replaces the findings too.
      await s.putResult({ digest: m1.digest, status: 'done', reason: null, inventory: inv, vulnerabilities: [], dbVersion: 'v2', scanner: 'berth', scannedAt: 20 }, [], 20);
      assert.deepEqual(await s.findDigests({ package: 'libssl' }, 10), []);

      await s.deleteResults([m1.digest, m2.digest]);
      assert.deepEqual(await s.results([m1.digest, m2.digest]), []);
      await meta.repositories.delete(r);
    });

    it('records pending and running over the last findings, forgets results no manifest holds, and keeps scanners', async () => {
      const r = repo('scanproj/held');
      const m = manifest('scan-held');
      await meta.manifests.insert(r, m, 1);
      await s.setStatus(m.digest, 'pending', 'berth', 1);
      assert.deepEqual(await s.result(m.digest), { digest: m.digest, status: 'pending', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: null, updatedAt: 1, previousStatus: null });
      await s.putResult({ digest: m.digest, status: 'done', reason: null, inventory: null, vulnerabilities: [{ id: 'X-1' }], dbVersion: 'v1', scanner: 'berth', scannedAt: 2 }, [{ advisoryId: 'X-1', package: 'p', severity: 'high' }], 2);
      await s.setStatus(m.digest, 'running', 'harbor:x', 3);
      assert.deepEqual(await s.result(m.digest), { digest: m.digest, status: 'running', reason: null, inventory: null, vulnerabilities: [{ id: 'X-1' }], dbVersion: 'v1', scanner: 'harbor:x', scannedAt: 2, updatedAt: 3, previousStatus: 'done' });
      await s.setStatus(m.digest, 'pending', 'berth', 4);
      assert.equal((await s.result(m.digest))!.previousStatus, 'done', 'kept across pending and running');
      assert.equal((await s.findDigests({ advisoryId: 'X-1' }, 10)).length, 1, 'findings stay while a new scan runs');

      const loose = digest('scan-loose');
      await s.putResult({ digest: loose, status: 'done', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: 1 }, [{ advisoryId: 'X-2', package: 'q', severity: 'low' }], 1);
      await s.forgetUnheld([m.digest, loose]);
      assert.deepEqual((await s.results([m.digest, loose])).map((x) => x.digest), [m.digest], 'a held result stays, an unheld one goes');
      assert.deepEqual(await s.findDigests({ advisoryId: 'X-2' }, 10), []);
      // Deleting the repository takes the results of the images only it held.
      await meta.repositories.delete(r);
      assert.deepEqual(await s.results([m.digest]), []);
      assert.deepEqual(await s.findDigests({ advisoryId: 'X-1' }, 10), []);

      await s.putScanner({ name: 'a', url: 'http://a', registryUrl: 'http://r', authorizationSealed: 'sealed', isDefault: true }, 1);
      await s.putScanner({ name: 'b', url: 'http://b', registryUrl: 'http://r', authorizationSealed: null, isDefault: true }, 2);
      assert.deepEqual((await s.scanners()).map((x) => [x.name, x.isDefault, x.authorizationSealed]), [['a', false, 'sealed'], ['b', true, null]], 'one default at a time');
      await s.putScanner({ name: 'a', url: 'http://a2', registryUrl: 'http://r', authorizationSealed: null, isDefault: false }, 3);
      assert.deepEqual((await s.scanners()).map((x) => [x.name, x.url, x.createdAt, x.updatedAt]), [['a', 'http://a2', 1, 3], ['b', 'http://b', 2, 2]]);
      assert.equal(await s.deleteScanner('a'), true);
      assert.equal(await s.deleteScanner('a'), false);
      assert.equal(await s.deleteScanner('b'), true);
    });

    it('keeps policies per project and counts state atomically', async () => {
      assert.equal(await s.policy('scanproj'), undefined);
      await s.setPolicy('scanproj', { blockSeverity: 'high' }, 1);
      await s.setPolicy('scanproj', { blockSeverity: 'critical', allowlist: [] }, 2);
      assert.deepEqual(await s.policy('scanproj'), { blockSeverity: 'critical', allowlist: [] });
      await s.setPolicy('scanproj', null, 3);
      assert.equal(await s.policy('scanproj'), undefined);

      const start = Number((await s.state('contract.counter')) ?? 0);
      const got = await Promise.all(Array.from({ length: 6 }, () => s.bump('contract.counter')));
      assert.deepEqual([...got].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6].map((n) => start + n), 'each bump gets its own value');
      await s.setState('contract.name', 'a');
      await s.setState('contract.name', 'b');
      assert.equal(await s.state('contract.name'), 'b');
    });

    it('commits a result with its audit entry, or neither', async () => {
      const d = digest('scan-tx');
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.scans.putResult({ digest: d, status: 'done', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: 1 }, [], 1);
          await tx.audit.insert([{ at: 1, actor: 'system:scanner', action: 'scan.completed', resource: d, project: null, result: 'success', sourceAddress: null, detail: null }]);
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.equal(await s.result(d), undefined);
      await s.transaction(async (tx) => {
        await tx.scans.putResult({ digest: d, status: 'done', reason: null, inventory: null, vulnerabilities: [], dbVersion: null, scanner: 'berth', scannedAt: 1 }, [], 1);
      });
      assert.equal((await s.result(d))!.status, 'done');
      await s.deleteResults([d]);
    });
  });
}
