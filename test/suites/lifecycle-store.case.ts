/**
 * The lifecycle contract of the metadata store (src/metadata/lifecycle-store.ts): leases,
 * per-project settings, retention's snapshot and trash moves, restores, run records and usage
 * figures. Every implementation runs it unchanged, through interface methods only; afterEach
 * fails a test that left a row behind (run records are history, kept by contract).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetadataStore, NewManifest } from '../../src/metadata/store.js';
import type { Digest, RepoName, Tag } from '../../src/domain/names.js';
import type { StoreHarness } from '../helpers/metadata.js';
import { digest, manifest, repo, RUN_HISTORY, storeHooks } from './store-fixtures.js';

export function lifecycleStoreSuite(name: string, open: () => Promise<StoreHarness>, skip?: string): void {
  describe(`Lifecycle store contract: ${name}`, { skip }, () => {
    let s: MetadataStore;
    storeHooks(open, (x) => void (s = x.store), RUN_HISTORY);

    async function blobs(r: RepoName, ...names: string[]): Promise<Digest[]> {
      const ds = names.map(digest);
      for (const [i, d] of ds.entries()) {
        await s.blobs.insert({ digest: d, size: 100 * (i + 1) }, 1);
        await s.blobs.link(r, d, 'pushed', 1);
      }
      return ds;
    }
    /** Removes repositories and then blobs, as a test's cleanup. */
    async function drop(repos: string[], ds: Digest[]): Promise<void> {
      for (const r of repos) await s.repositories.delete(repo(r));
      for (const d of ds) await s.blobs.delete(d);
    }
    /** Removes trash entries with their manifests (garbage collection's cascade). */
    async function dropTrashed(r: RepoName, ...ms: NewManifest[]): Promise<void> {
      const graph = await s.gc.manifestGraph();
      for (const m of ms) {
        const n = graph.manifests.find((x) => x.digest === m.digest);
        if (!n) continue;
        const l = await s.gcSweep.lockManifest(n.repositoryId, m.digest);
        if (l) await s.gcSweep.deleteManifest(l);
      }
      await s.repositories.delete(r);
    }

    it('gives a lease to one holder at a time until it expires', async () => {
      assert.equal(await s.leases.get('job'), undefined);
      assert.equal(await s.leases.acquire('job', 'a', 100, 0), true);
      assert.equal(await s.leases.acquire('job', 'b', 150, 50), false, 'held by a');
      assert.equal(await s.leases.acquire('job', 'a', 200, 60), true, 'the holder renews');
      assert.deepEqual(await s.leases.get('job'), { holder: 'a', expiresAt: 200 });
      await s.leases.release('job', 'b');
      assert.deepEqual(await s.leases.get('job'), { holder: 'a', expiresAt: 200 }, 'only the holder releases');
      assert.equal(await s.leases.acquire('job', 'b', 400, 201), true, 'an expired lease is taken over');
      await s.leases.release('job', 'b');
      assert.equal(await s.leases.get('job'), undefined);
      const winners = await Promise.all(['w1', 'w2', 'w3', 'w4', 'w5'].map((w) => s.leases.acquire('race', w, 1000, 0)));
      assert.equal(winners.filter(Boolean).length, 1, 'one holder wins a race');
      await s.leases.release('race', (await s.leases.get('race'))!.holder);
    });

    it('keeps per-project settings as JSON, one setting at a time', async () => {
      assert.deepEqual(await s.lifecycleSettings.get('p'), { retention: null, immutability: null, quota: null });
      await s.lifecycleSettings.set('p', 'quota', { bytes: 10, repositories: null, tags: 3 }, 1);
      await s.lifecycleSettings.set('p', 'retention', { rules: [], schedule: '0 * * * *' }, 2);
      await s.lifecycleSettings.set('q', 'immutability', { rules: [{ name: 'r', tags: ['v*'] }] }, 3);
      assert.deepEqual(await s.lifecycleSettings.get('p'), { retention: { rules: [], schedule: '0 * * * *' }, immutability: null, quota: { bytes: 10, repositories: null, tags: 3 } });
      assert.deepEqual(await s.lifecycleSettings.retentionSettings(), [{ project: 'p', retention: { rules: [], schedule: '0 * * * *' } }]);
      await s.lifecycleSettings.set('p', 'retention', null, 4);
      assert.deepEqual(await s.lifecycleSettings.retentionSettings(), []);
      assert.deepEqual((await s.lifecycleSettings.get('p')).quota, { bytes: 10, repositories: null, tags: 3 });
      await s.lifecycleSettings.delete('p');
      await s.lifecycleSettings.delete('q');
      await s.lifecycleSettings.delete('absent');
      assert.deepEqual(await s.lifecycleSettings.get('q'), { retention: null, immutability: null, quota: null });
    });

    it('snapshots tags and untagged top-level manifests, moves them to the trash and restores them', async () => {
      const r = repo('rp/app');
      const [layer] = await blobs(r, 'rp-layer');
      const old = manifest('rp-old', { blobs: [layer!] });
      const cur = manifest('rp-cur');
      const child = manifest('rp-child');
      const index = manifest('rp-index', { children: [child.digest] });
      const sig = manifest('rp-sig', { subject: cur.digest });
      await s.manifests.insert(r, old, 10);
      await s.manifests.insert(r, cur, 20);
      await s.manifests.insert(r, child, 30);
      await s.manifests.insert(r, index, 40);
      await s.manifests.insert(r, sig, 50);
      await s.tags.set(r, 'v1' as Tag, old.digest, 11);
      await s.tags.set(r, 'v2' as Tag, cur.digest, 21);
      await s.manifests.touchPulled([{ repo: r, digest: cur.digest, at: 99 }]);
      await s.manifests.insert(repo('other/x'), manifest('rp-elsewhere'), 1);

      const snap = await s.retention.snapshot('rp', 1000);
      assert.deepEqual(
        snap.tags.sort((a, b) => (a.tag < b.tag ? -1 : 1)),
        [
          { repository: r, tag: 'v1', digest: old.digest, pushedAt: 10, pulledAt: null },
          { repository: r, tag: 'v2', digest: cur.digest, pushedAt: 20, pulledAt: 99 },
        ],
      );
      assert.deepEqual(snap.untagged, [{ repository: r, digest: index.digest }], 'no tag, no parent, no subject');

      const runId = await s.retention.insertRun({ project: 'rp', trigger: 'test', dryRun: false, startedAt: 1000 });
      await s.transaction((tx) => tx.retention.moveToTrash({ runId, project: 'rp', now: 1000, expiresAt: 5000 }, [{ repository: r, tag: 'v1', digest: old.digest }], [{ repository: r, digest: index.digest }]), { isolation: 'read-committed' });
      assert.deepEqual(await s.tags.list(r, undefined, 10), ['v2']);
      const after = await s.retention.snapshot('rp', 1000);
      assert.deepEqual(after.untagged, [], 'a trashed manifest is held until its entry expires');
      assert.deepEqual((await s.retention.snapshot('rp', 5000)).untagged.map((u) => u.digest).sort(), [old.digest, index.digest].sort());
      await assert.rejects(s.retention.moveToTrash({ runId, project: 'rp', now: 1, expiresAt: 2 }, [{ repository: 'rp/absent', tag: 't', digest: old.digest }], []));

      const entries = await s.trash.restorable({ runId }, 1000);
      assert.equal(entries.length, 2);
      const [newest, oldest] = entries;
      assert.deepEqual({ ...oldest!, id: 0 }, { id: 0, runId, project: 'rp', repository: r, tag: 'v1', digest: old.digest, removedAt: 1000, expiresAt: 5000, restoredAt: null });
      assert.equal(newest!.tag, null);
      assert.deepEqual((await s.trash.restorable({ runId, order: 'oldest' }, 1000)).map((e) => e.id), [oldest!.id, newest!.id]);
      assert.deepEqual((await s.trash.restorable({ before: newest!.id, limit: 10 }, 1000)).map((e) => e.id), [oldest!.id]);
      assert.deepEqual((await s.trash.restorable({ ids: [newest!.id] }, 1000)).map((e) => e.id), [newest!.id]);
      assert.deepEqual(await s.trash.restorable({ ids: [] }, 1000), []);
      assert.deepEqual(await s.trash.restorable({ project: 'other' }, 1000), []);
      assert.deepEqual(await s.trash.restorable({ runId }, 5000), [], 'expired entries are not restorable');
      await s.trash.markRestored(newest!.id, 2000);
      assert.deepEqual((await s.trash.restorable({ runId }, 2000)).map((e) => e.id), [oldest!.id]);
      assert.deepEqual((await s.retention.snapshot('rp', 9000)).untagged.map((u) => u.digest), [old.digest], 'a restored untagged manifest stays held');

      await s.retention.finishRun(runId, { status: 'succeeded', finishedAt: 1001, result: { removed: 1 } });
      const failed = await s.retention.insertRun({ project: 'other', trigger: 'cli', dryRun: true, startedAt: 1100 });
      await s.retention.finishRun(failed, { status: 'failed', finishedAt: 1101, error: 'boom' });
      const runs = await s.retention.listRuns({ limit: 100 });
      assert.deepEqual(runs.slice(0, 2).map((x) => x.id), [failed, runId], 'newest first');
      assert.deepEqual(runs[1], { id: runId, project: 'rp', trigger: 'test', dryRun: false, status: 'succeeded', startedAt: 1000, finishedAt: 1001, result: { removed: 1 }, error: null });
      assert.deepEqual([runs[0]!.status, runs[0]!.dryRun, runs[0]!.error, runs[0]!.result], ['failed', true, 'boom', null]);
      assert.deepEqual((await s.retention.listRuns({ project: 'rp', limit: 100 })).map((x) => x.id), [runId]);
      assert.deepEqual((await s.retention.listRuns({ before: failed, limit: 1 })).map((x) => x.id), [runId]);

      await dropTrashed(r, index, old, cur, child, sig);
      await drop(['other/x'], [layer!]);
    });

    it('recounts usage from the graph, counting shared blobs once per scope', async () => {
      const [shared, onlyA] = await blobs(repo('u/a'), 'u-shared', 'u-only-a');
      await s.blobs.link(repo('u/b'), shared!, 'mounted', 1);
      const m = manifest('u-m', { blobs: [shared!] });
      await s.manifests.insert(repo('u/a'), m, 1);
      await s.manifests.insert(repo('u/b'), m, 1);
      await s.tags.set(repo('u/a'), 't1' as Tag, m.digest, 1);
      await s.tags.set(repo('u/b'), 't2' as Tag, m.digest, 1);
      await s.uploads.create({ id: 'u-up', repository: repo('u/empty'), handle: 'h', project: 'u' }, 1);
      await s.uploads.create({ id: 'u-up2', repository: repo('u/b'), handle: 'h', project: 'u' }, 1);
      assert.equal(await s.uploads.advance('u-up', 0, 40, 'h', 2), true);
      assert.equal(await s.uploads.advance('u-up2', 0, 2, 'h', 2), true);
      const size = m.content.length;
      assert.deepEqual(await s.usage.of({ project: 'u' }), { bytes: 300 + size, blobBytes: 300, manifestBytes: size, blobs: 2, manifests: 1, repositories: 2, tags: 2, uploadBytes: 42 });
      assert.deepEqual(await s.usage.of({ repository: 'u/b' }), { bytes: 100 + size, blobBytes: 100, manifestBytes: size, blobs: 1, manifests: 1, repositories: 1, tags: 1, uploadBytes: 2 });
      assert.deepEqual(await s.usage.of({ project: 'none' }), { bytes: 0, blobBytes: 0, manifestBytes: 0, blobs: 0, manifests: 0, repositories: 0, tags: 0, uploadBytes: 0 });
      assert.equal(await s.usage.openUploadBytes({ project: 'u' }, 'u-up'), 2, 'all but the named session');
      assert.equal(await s.usage.heldBlobSize('u', shared!), 100);
      assert.equal(await s.usage.heldBlobSize('v', shared!), undefined);
      assert.deepEqual((await s.usage.byRepository('u')).map((x) => [x.repository, x.usage.bytes]), [
        ['u/a', 300 + size],
        ['u/b', 100 + size],
      ]);
      assert.deepEqual(await s.usage.projects(), ['u']);
      assert.equal(await s.usage.references('u', onlyA!), true);
      assert.equal(await s.usage.references('u', digest('nope')), false);
      assert.equal(await s.usage.references('v', shared!), false);
      await s.uploads.delete('u-up');
      await s.uploads.delete('u-up2');
      await drop(['u/a', 'u/b', 'u/empty'], [shared!, onlyA!]);
    });
  });
}
