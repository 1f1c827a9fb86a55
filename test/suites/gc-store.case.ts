/**
 * The garbage-collection contract of the metadata store (src/metadata/gc-store.ts): the
 * review queue and mark queries, the sweep's locked re-check reads and deletes, the
 * byte-deletion fence, run records. Every implementation runs it unchanged, through
 * interface methods only; afterEach fails a test that left a row behind (run records are
 * history, kept by contract, and the only rows allowed to stay).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { Digest, RepoName, Tag } from '../../src/domain/names.js';
import type { StoreHarness } from '../helpers/metadata.js';
import { digest, manifest, repo, RUN_HISTORY, storeHooks } from './store-fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function gcStoreSuite(name: string, open: () => Promise<StoreHarness>, skip?: string): void {
  describe(`GC store contract: ${name}`, { skip }, () => {
    let s: MetadataStore;
    storeHooks(open, (x) => void (s = x.store), RUN_HISTORY);

    async function blobs(r: RepoName, now: number, ...names: string[]): Promise<Digest[]> {
      const ds = names.map(digest);
      for (const [i, d] of ds.entries()) {
        await s.blobs.insert({ digest: d, size: names[i]!.length }, now);
        await s.blobs.link(r, d, 'pushed', now);
      }
      return ds;
    }
    async function repositoryId(r: RepoName, d: Digest): Promise<number> {
      const graph = await s.gc.manifestGraph();
      const n = graph.manifests.find((m) => m.digest === d);
      assert.ok(n, `manifest ${d} of ${r} is in the graph`);
      return n.repositoryId;
    }
    /** Drops every review the test queued (the sweep drops them one by one in real runs). */
    async function dropAllReviews(): Promise<void> {
      for (const kind of ['manifest', 'link', 'blob', 'orphan'] as const) {
        for (;;) {
          const due = await s.gc.due(kind, Number.MAX_SAFE_INTEGER, 100);
          if (due.length === 0) break;
          for (const r of due) await s.gc.dropReviews(kind, r.repositoryId, [r.digest]);
        }
      }
    }

    it('reads the manifest graph and queues manifests once, keeping the first queue time', async () => {
      const r = repo('g/app');
      const [layer] = await blobs(r, 1, 'layer');
      const child = manifest('child', { blobs: [layer!] });
      const index = manifest('index', { children: [child.digest] });
      const sig = manifest('sig', { subject: child.digest });
      for (const m of [child, index, sig]) await s.manifests.insert(r, m, 1);
      await s.tags.set(r, 'v1' as Tag, index.digest, 1);
      const graph = await s.gc.manifestGraph();
      assert.equal(graph.manifests.length, 3);
      const byDigest = new Map(graph.manifests.map((m) => [m.digest, m]));
      assert.equal(byDigest.get(sig.digest)?.subject, child.digest);
      assert.equal(byDigest.get(child.digest)?.project, 'g');
      assert.deepEqual(graph.tagged, [byDigest.get(index.digest)!.id]);
      assert.deepEqual(graph.children, [{ parentId: byDigest.get(index.digest)!.id, childId: byDigest.get(child.digest)!.id }]);
      assert.deepEqual(graph.trash, []);

      const id = byDigest.get(sig.digest)!.repositoryId;
      assert.equal(await s.gc.queueManifests([{ repositoryId: id, digest: sig.digest }], 100, 50), 1);
      assert.equal(await s.gc.queueManifests([{ repositoryId: id, digest: sig.digest }, { repositoryId: id, digest: child.digest }], 200, 50), 1, 'insert-if-absent');
      assert.deepEqual(await s.gc.due('manifest', 99, 10), []);
      assert.deepEqual(await s.gc.due('manifest', 100, 10), [{ repositoryId: id, digest: sig.digest }], 'the first queue time stays');
      assert.deepEqual(await s.gc.due('manifest', 200, 10), [{ repositoryId: id, digest: sig.digest }, { repositoryId: id, digest: child.digest }], 'oldest first');
      assert.deepEqual(await s.gc.due('manifest', 200, 1), [{ repositoryId: id, digest: sig.digest }]);
      assert.deepEqual(await s.gc.due('link', 200, 10), []);
      assert.equal(await s.gc.countDue(150), 1);
      assert.equal(await s.gc.countDue(200), 2);
      await s.gc.dropReviews('manifest', id, [sig.digest, child.digest]);
      assert.equal(await s.gc.countDue(Number.MAX_SAFE_INTEGER), 0);
      assert.equal(await s.repositories.delete(r), true);
      assert.equal(await s.blobs.delete(layer!), true);
    });

    it('marks links no manifest of their repository uses, and blobs nothing references', async () => {
      const r = repo('g/links');
      const [used, loose] = await blobs(r, 1, 'used', 'loose');
      await s.blobs.insert({ digest: digest('unlinked'), size: 1 }, 1);
      await s.manifests.insert(r, manifest('m', { blobs: [used!] }), 1);
      const id = await repositoryId(r, manifest('m').digest);
      assert.equal(await s.gc.markLinks(10, 5), 1);
      assert.equal(await s.gc.markLinks(11, 5), 0, 'already queued');
      assert.deepEqual(await s.gc.due('link', 10, 10), [{ repositoryId: id, digest: loose }]);
      assert.equal(await s.gc.markBlobs(10, 5), 1);
      assert.deepEqual(await s.gc.due('blob', 10, 10), [{ repositoryId: 0, digest: digest('unlinked') }]);
      await dropAllReviews();
      assert.equal(await s.gc.markLinks(20, 5, { repositoryId: id, digests: [used!] }), 0, 'a used link is not marked');
      assert.equal(await s.gc.markLinks(20, 5, { repositoryId: id, digests: [loose!] }), 1);
      assert.equal(await s.gc.markBlobs(20, 5, [used!, loose!]), 0, 'linked blobs are not marked');
      await dropAllReviews();
      await s.repositories.delete(r);
      for (const d of [used!, loose!, digest('unlinked')]) assert.equal(await s.blobs.delete(d), true);
    });

    it('queues as orphans only listed bytes without a blob row or a pending deletion', async () => {
      const [kept] = [digest('kept')];
      await s.blobs.insert({ digest: kept, size: 1 }, 1);
      const [orphan, fenced] = [digest('orphan'), digest('fenced')];
      await s.fences.raise([fenced], 1);
      await s.gc.queueOrphans([kept, orphan, fenced], 10, 0);
      assert.deepEqual(await s.gc.due('orphan', 10, 10), [{ repositoryId: 0, digest: orphan }]);
      await s.gc.queueOrphans([], 10, 0);
      await dropAllReviews();
      await s.fences.lower([fenced], 2);
      await s.fences.prune(3);
      assert.equal(await s.blobs.delete(kept), true);
    });

    it('reads a manifest under lock with what its re-check needs, and deletes it with the one cascade', async () => {
      const r = repo('g/sweep');
      const [cfg] = await blobs(r, 1, 'cfg');
      const subject = manifest('subject', { blobs: [cfg!] });
      const child = manifest('sw-child');
      const index = manifest('sw-index', { children: [child.digest] });
      const referrer = manifest('referrer', { subject: subject.digest });
      for (const m of [subject, child, index, referrer]) await s.manifests.insert(r, m, 7);
      await s.tags.set(r, 'latest' as Tag, subject.digest, 8);
      const id = await repositoryId(r, subject.digest);
      await s.retention.moveToTrash({ runId: 1, project: 'g', now: 9, expiresAt: 1000 }, [], [{ repository: r, digest: subject.digest }]);

      const locked = await s.transaction((tx) => tx.gcSweep.lockManifest(id, subject.digest), { isolation: 'read-committed' });
      assert.ok(locked);
      assert.deepEqual(
        { ...locked, id: 0 },
        { id: 0, repositoryId: id, repository: r, project: 'g', digest: subject.digest, size: 7, pushedAt: 7, subject: null, tagged: true, hasParent: false, subjectPresent: false, trash: [{ tag: null, expiresAt: 1000, restoredAt: null }] },
      );
      const c = await s.gcSweep.lockManifest(id, child.digest);
      assert.deepEqual([c?.tagged, c?.hasParent], [false, true]);
      const ref = await s.gcSweep.lockManifest(id, referrer.digest);
      assert.deepEqual([ref?.subject, ref?.subjectPresent, ref?.trash], [subject.digest, true, []]);
      assert.equal(await s.gcSweep.lockManifest(id, digest('absent')), undefined);
      assert.deepEqual(await s.gcSweep.repositoryNames([id, 999_999]), new Map([[id, r]]));

      // The cascade: trash entries, tags, edges and the row.
      const released = await s.transaction((tx) => tx.gcSweep.deleteManifest(locked), { isolation: 'read-committed' });
      assert.deepEqual(released, [cfg]);
      assert.deepEqual(await s.tags.list(r, undefined, 10), []);
      assert.deepEqual(await s.trash.restorable({}, 0), []);
      assert.equal((await s.gcSweep.lockManifest(id, referrer.digest))?.subjectPresent, false);
      for (const m of [index, child, referrer]) {
        const l = await s.gcSweep.lockManifest(id, m.digest);
        assert.ok(l);
        await s.gcSweep.deleteManifest(l);
      }
      assert.deepEqual(await s.manifests.missingManifests(r, [subject.digest, child.digest]), [subject.digest, child.digest]);
      await s.repositories.delete(r);
      assert.equal(await s.blobs.delete(cfg!), true);
    });

    it('re-checks links and blobs under lock, and deleting blobs raises their fences', async () => {
      const r = repo('g/blobs');
      const [used, loose] = await blobs(r, 3, 'b-used', 'b-loose');
      await s.manifests.insert(r, manifest('bm', { blobs: [used!] }), 4);
      const id = await repositoryId(r, manifest('bm').digest);
      const links = await s.transaction((tx) => tx.gcSweep.lockLinks(id, [used!, loose!, digest('none')]), { isolation: 'read-committed' });
      assert.deepEqual(
        links.sort((a, b) => (a.digest < b.digest ? -1 : 1)),
        [
          { digest: used!, createdAt: 3, used: true },
          { digest: loose!, createdAt: 3, used: false },
        ].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
      );
      assert.deepEqual(await s.gcSweep.lockLinks(id, []), []);
      await s.gcSweep.deleteLinks(id, [loose!]);
      assert.equal(await s.blobs.sizeInRepository(r, loose!), undefined);

      const rows = await s.transaction(
        async (tx) => {
          await tx.fences.lock([loose!, used!], 5);
          return tx.gcSweep.lockBlobs([used!, loose!, digest('none')]);
        },
        { isolation: 'read-committed' },
      );
      const byDigest = new Map(rows.map((b) => [b.digest, b]));
      assert.deepEqual(byDigest.get(loose!), { digest: loose, size: 7, createdAt: 3, used: false });
      assert.equal(byDigest.get(used!)?.used, true);
      assert.equal(rows.length, 2);
      assert.deepEqual(await s.blobs.deletionState(loose!), { version: 0, pending: false }, 'locking a fence leaves its state');

      await s.transaction((tx) => tx.gcSweep.deleteBlobs([loose!], 6), { isolation: 'read-committed' });
      assert.equal(await s.blobs.get(loose!), undefined);
      assert.deepEqual(await s.blobs.deletionState(loose!), { version: 1, pending: true });
      assert.deepEqual(await s.gcSweep.existingBlobs([used!, loose!]), new Set([used]));
      assert.deepEqual(await s.fences.pending(), [loose]);
      await s.fences.lower([loose!], 7);
      assert.deepEqual(await s.fences.pending(), []);
      assert.deepEqual(await s.blobs.deletionState(loose!), { version: 1, pending: false });
      await s.fences.prune(7);
      assert.deepEqual(await s.blobs.deletionState(loose!), { version: 1, pending: false }, 'prune keeps fences changed at or after its time');
      await s.fences.prune(8);
      assert.deepEqual(await s.blobs.deletionState(loose!), { version: 0, pending: false });
      await s.repositories.delete(r);
      assert.equal(await s.blobs.delete(used!), true);
    });

    it('holds a locked manifest until commit: a tag pointed at it meanwhile fails once it is deleted', async () => {
      const r = repo('g/locked');
      const m = manifest('locked-m');
      await s.manifests.insert(r, m, 1);
      const id = await repositoryId(r, m.digest);
      let locked!: () => void;
      const lockedNow = new Promise<void>((res) => (locked = res));
      const sweep = s.transaction(
        async (tx) => {
          const l = await tx.gcSweep.lockManifest(id, m.digest);
          assert.ok(l && !l.tagged);
          locked();
          await sleep(300);
          await tx.gcSweep.deleteManifest(l);
        },
        { isolation: 'read-committed' },
      );
      await lockedNow;
      const tagging = s.tags.set(r, 'late' as Tag, m.digest, 2).then(
        () => undefined,
        (e: unknown) => e,
      );
      await sweep;
      assert.ok((await tagging) instanceof Error, 'the tag write waited for the sweep and found its manifest gone');
      assert.deepEqual(await s.tags.list(r, undefined, 10), []);
      await s.repositories.delete(r);
    });

    it('makes a blob re-check wait for an upload transaction that holds the fence, and see its row', async () => {
      const r = repo('g/race');
      const d = digest('raced');
      let fenced!: () => void;
      const fencedNow = new Promise<void>((res) => (fenced = res));
      const upload = s.transaction(async (tx) => {
        const state = await tx.blobs.lockDeletionState(d, 1);
        fenced();
        await sleep(300);
        assert.equal(state.pending, false);
        await tx.blobs.insert({ digest: d, size: 1 }, 1);
        await tx.blobs.link(r, d, 'pushed', 1);
      });
      await fencedNow;
      const rows = await s.transaction(
        async (tx) => {
          await tx.fences.lock([d], 2);
          return tx.gcSweep.lockBlobs([d]);
        },
        { isolation: 'read-committed' },
      );
      await upload;
      assert.deepEqual(rows.map((b) => [b.digest, b.used]), [[d, true]], 'the re-check saw the committed upload');
      await s.repositories.delete(r);
      assert.equal(await s.blobs.delete(d), true);
      await s.fences.prune(Number.MAX_SAFE_INTEGER);
    });

    it('expires stale upload sessions unless a writer holds their lease', async () => {
      await s.uploads.create({ id: 'old', repository: repo('g/up'), handle: 'h1' }, 10);
      await s.uploads.create({ id: 'busy', repository: repo('g/up'), handle: 'h2' }, 10);
      await s.uploads.create({ id: 'new', repository: repo('g/up'), handle: 'h3' }, 500);
      await s.uploads.advance('old', 0, 42, 'h1', 20);
      assert.ok(await s.uploads.lock('busy', 'writer', 1000, 30));
      const stale = await s.gcSweep.staleUploads(100);
      assert.deepEqual(stale.sort((a, b) => (a.id < b.id ? -1 : 1)), [
        { id: 'busy', handle: 'h2', offset: 0 },
        { id: 'old', handle: 'h1', offset: 42 },
      ]);
      assert.equal(await s.gcSweep.expireUpload('busy', 100, 200), false, 'a held lease keeps the session');
      assert.equal(await s.gcSweep.expireUpload('new', 100, 200), false, 'touched since');
      assert.equal(await s.gcSweep.expireUpload('old', 100, 200), true);
      assert.equal(await s.gcSweep.expireUpload('old', 100, 200), false);
      assert.equal(await s.gcSweep.expireUpload('busy', 100, 2000), true, 'an expired lease does not');
      assert.deepEqual(await s.gcSweep.uploadIds(), new Set(['new']));
      await s.uploads.delete('new');
      await s.repositories.delete(repo('g/up'));
    });

    it('locks fences without changing them, and raises them by one version each time', async () => {
      const [a, b] = [digest('fa'), digest('fb')];
      await s.transaction((tx) => tx.fences.lock([b, a], 1), { isolation: 'read-committed' });
      await s.fences.lock([], 1);
      assert.deepEqual(await s.blobs.deletionState(a), { version: 0, pending: false });
      await s.fences.raise([a, b], 2);
      await s.fences.raise([a], 3);
      await s.fences.raise([], 3);
      assert.deepEqual(await s.blobs.deletionState(a), { version: 2, pending: true });
      assert.deepEqual(await s.blobs.deletionState(b), { version: 1, pending: true });
      assert.deepEqual((await s.fences.pending()).sort(), [a, b].sort());
      await s.fences.lower([a, b], 4);
      await s.fences.lower([], 4);
      await s.fences.prune(5);
    });

    it('records garbage-collection runs with their progress and report', async () => {
      const first = await s.gcRuns.insert({ trigger: 'test', dryRun: true, startedAt: 100 });
      const second = await s.gcRuns.insert({ trigger: 'test', dryRun: false, startedAt: 200 });
      assert.ok(second > first);
      assert.deepEqual(await s.gcRuns.get(first), { id: first, trigger: 'test', dryRun: true, status: 'running', startedAt: 100, finishedAt: null, progress: null, result: null, error: null });
      await s.gcRuns.progress(second, { phase: 'sweep', done: 1, total: 2 });
      assert.deepEqual((await s.gcRuns.get(second))?.progress, { phase: 'sweep', done: 1, total: 2 });
      await s.gcRuns.finish(second, { status: 'succeeded', finishedAt: 300, progress: null, result: { bytesFreed: 5 } });
      await s.gcRuns.finish(first, { status: 'failed', finishedAt: 400, error: 'boom' });
      const done = await s.gcRuns.get(second);
      assert.deepEqual([done?.status, done?.finishedAt, done?.progress, done?.result], ['succeeded', 300, null, { bytesFreed: 5 }]);
      const failed = await s.gcRuns.get(first);
      assert.deepEqual([failed?.status, failed?.error, failed?.progress, failed?.result], ['failed', 'boom', null, null]);
      assert.deepEqual((await s.gcRuns.list(undefined, 100)).slice(0, 2).map((x) => x.id), [second, first], 'newest first');
      assert.deepEqual((await s.gcRuns.list(second, 1)).map((x) => x.id), [first]);
      assert.equal(await s.gcRuns.get(second + 1000), undefined);
    });
  });
}
