/**
 * The MetadataStore contract: every implementation runs this suite unchanged (no skip
 * lists). Each test cleans up through the interface itself, and afterEach fails the test if
 * any table still holds a row.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../../src/errors/store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { Digest, RepoName, Reference, Tag } from '../../src/domain/names.js';
import type { StoreHarness } from '../helpers/metadata.js';
import { digest, manifest, repo, storeHooks } from './store-fixtures.js';

const tag = (s: string): Reference => ({ kind: 'tag', tag: s as Tag });
const byDigest = (d: Digest): Reference => ({ kind: 'digest', digest: d });

export function metadataStoreSuite(name: string, open: () => Promise<StoreHarness>, skip?: string): void {
  describe(`MetadataStore contract: ${name}`, { skip }, () => {
    let s: MetadataStore;
    storeHooks(open, (x) => void (s = x.store));

    /** Pushes blobs into a repository (as a finished upload does). */
    async function blobs(r: RepoName, ...names: string[]): Promise<Digest[]> {
      const ds = names.map(digest);
      for (const [i, d] of ds.entries()) {
        await s.blobs.insert({ digest: d, size: names[i]!.length }, 1);
        await s.blobs.link(r, d, 'pushed', 1);
      }
      return ds;
    }
    async function dropRepos(...names: string[]): Promise<void> {
      for (const n of names) await s.repositories.delete(repo(n));
    }
    /** Enqueues a job without a dedupe key (which always yields an id). */
    async function enqueue(job: { kind: string; payload: unknown; maxAttempts: number; runAt: number }, now: number): Promise<number> {
      const id = await s.jobs.enqueue(job, now);
      assert.ok(id !== undefined);
      return id;
    }
    async function dropBlobs(...ds: Digest[]): Promise<void> {
      for (const d of ds) await s.blobs.delete(d);
    }

    it('lists repositories in byte order with paging and deletes them', async () => {
      const names = ['b/x', 'a', 'a/b', 'a-b', 'c', 'ab', 'a_b', 'a.b'];
      const all: Digest[] = [];
      for (const n of names) all.push(...(await blobs(repo(n), `blob-of-${n}`)));
      assert.deepEqual(await s.repositories.list(undefined, 10), ['a', 'a-b', 'a.b', 'a/b', 'a_b', 'ab', 'b/x', 'c']);
      assert.deepEqual(await s.repositories.list('a_b', 2), ['ab', 'b/x']);
      assert.deepEqual(await s.repositories.list('c', 2), []);
      assert.equal(await s.repositories.exists(repo('a/b')), true);
      assert.equal(await s.repositories.exists(repo('zzz')), false);
      await dropRepos(...names);
      assert.equal(await s.repositories.delete(repo('a')), false);
      await dropBlobs(...all);
    });

    it('stores blobs once, links them per repository and refuses to delete a referenced blob', async () => {
      const big = 5 * 2 ** 32 + 7; // past 32 bits: int8 must come back as an exact number
      const d = digest('big');
      await s.blobs.insert({ digest: d, size: big, mediaType: 'application/x' }, 10);
      await s.blobs.insert({ digest: d, size: big }, 11);
      assert.deepEqual(await s.blobs.get(d), { digest: d, size: big, mediaType: 'application/x' });
      assert.equal(await s.blobs.sizeInRepository(repo('r'), d), undefined);
      await s.blobs.link(repo('r'), d, 'pushed', 12);
      await s.blobs.link(repo('r'), d, 'mounted', 13);
      assert.equal(await s.blobs.sizeInRepository(repo('r'), d), big);
      assert.equal(await s.blobs.sizeInRepository(repo('other'), d), undefined);
      await assert.rejects(s.blobs.delete(d), ConflictError);
      assert.equal(await s.blobs.unlink(repo('r'), d), true);
      assert.equal(await s.blobs.unlink(repo('r'), d), false);
      assert.equal(await s.blobs.sizeInRepository(repo('r'), d), undefined);
      assert.equal(await s.blobs.delete(d), true);
      assert.equal(await s.blobs.delete(d), false);
      assert.equal(await s.blobs.get(d), undefined);
      await dropRepos('r');
    });

    it('tracks upload sessions with compare-and-set offsets', async () => {
      await s.uploads.create({ id: 'u1', repository: repo('r'), handle: 'h0' }, 100);
      await s.uploads.create({ id: 'u2', repository: repo('r'), handle: 'h0' }, 300);
      assert.deepEqual(await s.uploads.get('u1'), { id: 'u1', repository: 'r', offset: 0, handle: 'h0', startedAt: 100, updatedAt: 100 });
      assert.equal(await s.uploads.advance('u1', 0, 2 ** 33, 'h1', 200), true);
      assert.equal(await s.uploads.advance('u1', 0, 10, 'h2', 201), false, 'a stale offset must not move the upload');
      assert.equal((await s.uploads.get('u1'))?.offset, 2 ** 33);
      assert.equal((await s.uploads.get('u1'))?.handle, 'h1');
      const held = (id: string, owner: string, until: number, now: number) => s.uploads.lock(id, owner, until, now).then((u) => u !== undefined);
      assert.deepEqual(await s.uploads.lock('u1', 'req-a', 1000, 200), { id: 'u1', repository: 'r', offset: 2 ** 33, handle: 'h1', startedAt: 100, updatedAt: 200 }, 'the lease comes with the upload as it stands');
      assert.equal(await held('u1', 'req-b', 1500, 500), false, 'held by another writer');
      assert.equal(await held('u1', 'req-a', 2000, 900), true, 'the holder renews');
      assert.equal(await held('u1', 'req-b', 3000, 2001), true, 'an expired lease is taken over');
      await s.uploads.unlock('u1', 'req-a');
      assert.equal(await held('u1', 'req-c', 3000, 2002), false, 'only the holder unlocks');
      await s.uploads.unlock('u1', 'req-b');
      assert.equal(await held('u1', 'req-c', 3000, 2003), true);
      await s.uploads.unlock('u1', 'req-c');
      assert.equal(await s.uploads.lock('nope', 'req-c', 3000, 2003), undefined, 'no lease on a missing upload');
      assert.deepEqual((await s.uploads.listStale(250, 10)).map((u) => u.id), ['u1']);
      assert.deepEqual((await s.uploads.listStale(301, 10)).map((u) => u.id), ['u1', 'u2']);
      assert.equal(await s.uploads.delete('u1'), true);
      assert.equal(await s.uploads.delete('u1'), false);
      assert.equal(await s.uploads.advance('u1', 2 ** 33, 1, 'h', 1), false);
      assert.equal(await s.uploads.get('u1'), undefined);
      assert.equal(await s.uploads.delete('u2'), true);
    });

    it('counts open upload sessions by repository and by owner, since a time', async () => {
      await s.uploads.create({ id: 'c1', repository: repo('a/one'), handle: '', owner: 'alice' }, 100);
      await s.uploads.create({ id: 'c2', repository: repo('a/one'), handle: '', owner: 'bob' }, 200);
      await s.uploads.create({ id: 'c3', repository: repo('a/two'), handle: '', owner: 'alice' }, 300);
      await s.uploads.create({ id: 'c4', repository: repo('a/one'), handle: '' }, 300);
      assert.deepEqual(await s.uploads.countOpen(repo('a/one'), 'alice', 0), { inRepository: 3, ofOwner: 2 });
      assert.deepEqual(await s.uploads.countOpen(repo('a/one'), 'alice', 150), { inRepository: 2, ofOwner: 1 }, 'sessions untouched since `since` do not count');
      assert.deepEqual(await s.uploads.countOpen(repo('a/two'), 'carol', 0), { inRepository: 1, ofOwner: 0 });
      assert.deepEqual(await s.uploads.countOpen(repo('a/none'), undefined, 0), { inRepository: 0, ofOwner: 0 }, 'without an owner, no owner count (not the sessions that have none)');
      for (const id of ['c1', 'c2', 'c3', 'c4']) await s.uploads.delete(id);
    });

    it('stores manifests with their graph, tags and referrers', async () => {
      const r = repo('lib/app');
      const [cfg, layer] = await blobs(r, 'config', 'layer');
      const child = manifest('child', { blobs: [cfg!, layer!, layer!] });
      assert.equal(await s.manifests.insert(r, child, 1000), true);
      assert.equal(await s.manifests.insert(r, child, 1001), false);
      const index = manifest('index', { mediaType: 'application/vnd.oci.image.index.v1+json', children: [child.digest] });
      await s.manifests.insert(r, index, 1002);
      const sig1 = manifest('sig1', { artifactType: 'application/sig', subject: child.digest, annotations: { a: 'b' } });
      const sbom = manifest('sbom', { artifactType: 'application/sbom', subject: child.digest });
      await s.manifests.insert(r, sig1, 1003);
      await s.manifests.insert(r, sbom, 1004);

      const got = await s.manifests.get(r, byDigest(child.digest));
      assert.ok(got);
      assert.equal(got.digest, child.digest);
      assert.equal(got.size, 5);
      assert.equal(got.pushedAt, 1000, 'inserting again changes nothing');
      await s.manifests.touchPushed(r, child.digest, 1001);
      await s.manifests.touchPushed(r, manifest('absent').digest, 1001);
      assert.equal((await s.manifests.get(r, byDigest(child.digest)))!.pushedAt, 1001, 'a re-push moves the push time');
      assert.ok(Buffer.isBuffer(got.content));
      assert.equal(got.content.toString(), 'child');
      assert.equal(await s.manifests.get(repo('other'), byDigest(child.digest)), undefined);

      for (const t of ['_x', 'a', 'B', 'A-1']) await s.tags.set(r, t as Tag, child.digest, 1999);
      assert.deepEqual(await s.tags.list(r, undefined, 10), ['A-1', 'B', '_x', 'a'], 'byte order, not the collation of a language');
      assert.deepEqual(await s.tags.list(r, 'B', 10), ['_x', 'a']);
      for (const t of ['_x', 'a', 'B', 'A-1']) await s.tags.delete(r, t as Tag);
      await s.tags.set(r, 'v1' as Tag, child.digest, 2000);
      await s.tags.set(r, 'latest' as Tag, child.digest, 2001);
      assert.equal((await s.manifests.get(r, tag('v1')))?.digest, child.digest);
      await s.tags.set(r, 'latest' as Tag, index.digest, 2002);
      assert.equal((await s.manifests.get(r, tag('latest')))?.digest, index.digest);
      assert.equal(await s.manifests.get(r, tag('nope')), undefined);
      assert.deepEqual(await s.tags.list(r, undefined, 10), ['latest', 'v1']);
      assert.deepEqual(await s.tags.list(r, 'latest', 10), ['v1']);
      assert.deepEqual(await s.tags.list(r, undefined, 1), ['latest']);
      assert.equal(await s.tags.list(repo('unknown'), undefined, 10), undefined);

      // A blob referenced only by a manifest is still served by the repository.
      assert.equal(await s.blobs.unlink(r, layer!), true);
      assert.equal(await s.blobs.sizeInRepository(r, layer!), 5);
      assert.deepEqual(await s.manifests.missingBlobs(r, [cfg!, layer!, digest('x')]), [digest('x')]);
      assert.deepEqual(await s.manifests.missingBlobs(repo('other'), [cfg!]), [cfg]);
      assert.deepEqual(await s.manifests.missingManifests(r, [child.digest, digest('y')]), [digest('y')]);
      assert.deepEqual(await s.manifests.parents(r, child.digest), [index.digest]);

      const refs = await s.manifests.referrers(r, child.digest, { limit: 10 });
      assert.deepEqual(refs.map((x) => x.digest), [sig1.digest, sbom.digest].sort());
      assert.deepEqual((await s.manifests.referrers(r, child.digest, { limit: 10, artifactType: 'application/sig' }))[0]?.annotations, { a: 'b' });
      const first = refs[0]!.digest;
      assert.deepEqual((await s.manifests.referrers(r, child.digest, { limit: 10, after: first })).map((x) => x.digest), [refs[1]!.digest]);

      await s.manifests.touchPulled([{ repo: r, digest: child.digest, at: 5000 }]);

      assert.equal(await s.tags.delete(r, 'v1' as Tag), true);
      assert.equal(await s.tags.delete(r, 'v1' as Tag), false);
      // Deleting the index removes the tag pointing at it and its edges.
      assert.equal(await s.manifests.delete(r, index.digest), true);
      assert.equal(await s.manifests.delete(r, index.digest), false);
      assert.deepEqual(await s.tags.list(r, undefined, 10), []);
      assert.deepEqual(await s.manifests.parents(r, child.digest), []);
      for (const m of [sig1, sbom, child]) assert.equal(await s.manifests.delete(r, m.digest), true);
      await dropRepos(r);
      await dropBlobs(cfg!, layer!);
    });

    it('records pull times (touchPulled), skipping manifests and repositories that are gone', async () => {
      const r = repo('pulled/app');
      const m = manifest('pulled-m');
      await s.manifests.insert(r, m, 1);
      await s.tags.set(r, 'v1' as Tag, m.digest, 1);
      const pulledAt = async () => (await s.retention.snapshot('pulled', 0)).tags.map((t) => t.pulledAt);
      assert.deepEqual(await pulledAt(), [null]);
      await s.manifests.touchPulled([
        { repo: r, digest: m.digest, at: 50 },
        { repo: r, digest: digest('absent'), at: 60 },
        { repo: repo('pulled/none'), digest: m.digest, at: 70 },
      ]);
      assert.deepEqual(await pulledAt(), [50]);
      await s.manifests.touchPulled([{ repo: r, digest: m.digest, at: 80 }]);
      await s.manifests.touchPulled([]);
      assert.deepEqual(await pulledAt(), [80], 'the latest pull is kept');
      assert.equal((await s.manifests.get(r, byDigest(m.digest)))?.pushedAt, 1, 'a pull does not move the push time');
      await dropRepos(r);
    });

    it('answers which manifest a tag points at and which tags point at a manifest', async () => {
      const r = repo('tagq');
      const [a, b] = [manifest('tagq-a'), manifest('tagq-b')];
      await s.manifests.insert(r, a, 1);
      await s.manifests.insert(r, b, 1);
      await s.tags.set(r, 'x' as Tag, a.digest, 1);
      await s.tags.set(r, 'y' as Tag, a.digest, 1);
      assert.equal(await s.tags.digestOf(r, 'x'), a.digest);
      assert.equal(await s.tags.digestOf(r, 'nope'), undefined);
      assert.equal(await s.tags.digestOf(repo('other'), 'x'), undefined);
      assert.deepEqual((await s.tags.pointingAt(r, a.digest)).sort(), ['x', 'y']);
      assert.deepEqual(await s.tags.pointingAt(r, b.digest), []);
      await dropRepos(r);
    });

    it('deletes a repository with everything in it', async () => {
      const r = repo('gone');
      const [b] = await blobs(r, 'gone-blob');
      const m = manifest('gone-m', { blobs: [b!] });
      await s.manifests.insert(r, m, 1);
      await s.manifests.insert(r, manifest('gone-i', { children: [m.digest] }), 1);
      await s.tags.set(r, 't' as Tag, m.digest, 1);
      assert.equal(await s.repositories.delete(r), true);
      assert.equal(await s.manifests.get(r, byDigest(m.digest)), undefined);
      assert.equal(await s.blobs.delete(b!), true);
    });

    it('rolls a transaction back when it throws and commits it otherwise', async () => {
      const r = repo('tx');
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.blobs.insert({ digest: digest('tx'), size: 2 }, 1);
          await tx.blobs.link(r, digest('tx'), 'pushed', 1);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await s.blobs.get(digest('tx')), undefined);
      assert.equal(await s.repositories.exists(r), false);
      const n = await s.transaction(async (tx) => {
        await tx.blobs.insert({ digest: digest('tx'), size: 2 }, 1);
        await tx.blobs.link(r, digest('tx'), 'pushed', 1);
        return 7;
      });
      assert.equal(n, 7);
      assert.equal(await s.blobs.sizeInRepository(r, digest('tx')), 2);
      await dropRepos(r);
      await dropBlobs(digest('tx'));
    });

    it('reads the byte-deletion fence, and under a lock inside a transaction', async () => {
      const d = digest('fenced');
      assert.deepEqual(await s.blobs.deletionState(d), { version: 0, pending: false });
      const locked = await s.transaction((tx) => tx.blobs.lockDeletionState(d, 5));
      assert.deepEqual(locked, { version: 0, pending: false });
      // The locked read may leave the fence row it needed to lock; the state is unchanged.
      assert.deepEqual(await s.blobs.deletionState(d), { version: 0, pending: false });
      await s.fences.raise([d], 6);
      await s.fences.raise([d], 6);
      assert.deepEqual(await s.transaction((tx) => tx.blobs.lockDeletionState(d, 6)), { version: 2, pending: true });
      await s.fences.lower([d], 7);
      assert.deepEqual(await s.blobs.deletionState(d), { version: 2, pending: false });
      await s.fences.prune(8);
    });

    it('raises the fence for bytes no blob row records, and lowers it again', async () => {
      const d = digest('unrecorded');
      assert.equal(await s.transaction((tx) => tx.fences.raiseUnrecorded(d, 7)), true);
      assert.deepEqual(await s.blobs.deletionState(d), { version: 1, pending: true });
      await s.fences.lower([d], 8);
      assert.deepEqual(await s.blobs.deletionState(d), { version: 1, pending: false });
      // A recorded blob's bytes are in use: the fence stays down.
      await s.blobs.insert({ digest: d, size: 1 }, 9);
      assert.equal(await s.transaction((tx) => tx.fences.raiseUnrecorded(d, 10)), false);
      assert.deepEqual(await s.blobs.deletionState(d), { version: 1, pending: false });
      assert.equal(await s.blobs.delete(d), true);
      await s.fences.prune(Number.MAX_SAFE_INTEGER);
    });

    it('answers a ping', async () => {
      await s.ping();
    });

    it('keeps concurrent transactions that move one tag consistent', async () => {
      const r = repo('race');
      const ms = Array.from({ length: 8 }, (_, i) => manifest(`race-${i}`));
      for (const m of ms) await s.manifests.insert(r, m, 1);
      await Promise.all(
        ms.map((m, i) =>
          s.transaction(async (tx) => {
            assert.deepEqual(await tx.manifests.missingManifests(r, [m.digest]), []);
            await tx.tags.set(r, 'latest' as Tag, m.digest, 10 + i);
          }),
        ),
      );
      const winner = await s.manifests.get(r, tag('latest'));
      assert.ok(winner && ms.some((m) => m.digest === winner.digest));
      assert.deepEqual(await s.tags.list(r, undefined, 10), ['latest']);
      await dropRepos(r);
    });

    it('keeps settings, and getOrCreate agrees under concurrency', async () => {
      assert.equal(await s.settings.get('k'), undefined);
      const values = await Promise.all(Array.from({ length: 10 }, (_, i) => s.settings.getOrCreate('k', `v${i}`)));
      assert.equal(new Set(values).size, 1);
      assert.equal(await s.settings.get('k'), values[0]);
      assert.equal(await s.settings.getOrCreate('k', 'other'), values[0]);
      await s.settings.put('k', 'replaced');
      assert.equal(await s.settings.get('k'), 'replaced');
      await s.settings.put('k', 'again');
      assert.equal(await s.settings.getOrCreate('k', 'other'), 'again');
      assert.equal(await s.settings.delete('k'), true);
      assert.equal(await s.settings.delete('k'), false);
      await s.settings.put('k2', 'new');
      assert.equal(await s.settings.get('k2'), 'new');
      assert.equal(await s.settings.delete('k2'), true);
    });

    it('pages over blobs and manifests for scrub, whole or per repository', async () => {
      const [a1, a2] = await blobs(repo('scrub/a'), 'sa1', 'sa2');
      const [b1] = await blobs(repo('scrub/b'), 'sb1');
      // A blob only referenced (not linked) by a manifest of scrub/b still belongs to it.
      const ref = digest('sref');
      await s.blobs.insert({ digest: ref, size: 4 }, 1);
      const m = manifest('scrub-manifest', { blobs: [ref, a1!] });
      await s.manifests.insert(repo('scrub/b'), m, 2);
      const ma = manifest('scrub-manifest-a');
      await s.manifests.insert(repo('scrub/a'), ma, 2);
      const sorted = (ds: Digest[]) => [...ds].sort();
      const all = sorted([a1!, a2!, b1!, ref]);
      const first = await s.scrub.blobs({ limit: 3 });
      const rest = await s.scrub.blobs({ after: first.at(-1)!.digest, limit: 3 });
      assert.deepEqual([...first, ...rest].map((b) => b.digest), all);
      assert.deepEqual(await s.scrub.blobs({ after: all.at(-1), limit: 3 }), []);
      assert.equal(first.find((b) => b.digest === ref)?.size, 4);
      assert.deepEqual(await s.scrub.blobTotals(), { blobs: 4, bytes: 3 + 3 + 3 + 4 });
      assert.deepEqual(await s.scrub.blobTotals(repo('scrub/a')), { blobs: 2, bytes: 6 });
      assert.deepEqual((await s.scrub.blobs({ limit: 10, repository: repo('scrub/b') })).map((b) => b.digest), sorted([b1!, ref, a1!]));
      assert.deepEqual((await s.scrub.blobs({ limit: 10, repository: repo('scrub/a') })).map((b) => b.digest), sorted([a1!, a2!]));
      const ms = await s.scrub.manifests({ limit: 1 });
      assert.deepEqual(ms, [{ repository: 'scrub/a', digest: ma.digest, content: Buffer.from('scrub-manifest-a') }]);
      assert.deepEqual((await s.scrub.manifests({ after: ms[0]!, limit: 5 })).map((x) => [x.repository, x.digest]), [['scrub/b', m.digest]]);
      assert.deepEqual((await s.scrub.manifests({ limit: 5, repository: repo('scrub/b') })).map((x) => x.digest), [m.digest]);
      assert.deepEqual(await s.scrub.referencedBy(a1!, 10), [{ repository: 'scrub/b', manifest: m.digest }]);
      assert.deepEqual(await s.scrub.referencedBy(a2!, 10), []);
      await s.manifests.delete(repo('scrub/b'), m.digest);
      await s.manifests.delete(repo('scrub/a'), ma.digest);
      await dropRepos('scrub/a', 'scrub/b');
      await dropBlobs(a1!, a2!, b1!, ref);
    });

    it('reports job depth per kind and applied migrations', async () => {
      assert.deepEqual(await s.pendingMigrations(), []);
      const a = await enqueue({ kind: 'depth.a', payload: null, maxAttempts: 1, runAt: 0 }, 500);
      const b = await enqueue({ kind: 'depth.a', payload: null, maxAttempts: 1, runAt: 0 }, 300);
      const c = await enqueue({ kind: 'depth.b', payload: null, maxAttempts: 1, runAt: 0 }, 700);
      const [claimed] = await s.jobs.claim('w', ['depth.b'], 1, 10_000, 800);
      assert.equal(claimed?.id, c);
      const depth = (await s.jobs.depth()).filter((d) => d.kind.startsWith('depth.'));
      assert.deepEqual(depth, [
        { kind: 'depth.a', queued: 2, running: 0, oldestQueuedAt: 300 },
        { kind: 'depth.b', queued: 0, running: 1, oldestQueuedAt: undefined },
      ]);
      for (const id of [a!, b!, c!]) await s.jobs.delete(id);
      assert.deepEqual((await s.jobs.depth()).filter((d) => d.kind.startsWith('depth.')), []);
    });

    it('queues, claims, completes and retries jobs', async () => {
      const a = await enqueue({ kind: 'a', payload: { n: 1, s: 'x' }, maxAttempts: 2, runAt: 100 }, 50);
      const b = await enqueue({ kind: 'b', payload: null, maxAttempts: 1, runAt: 100 }, 50);
      const later = await enqueue({ kind: 'a', payload: 2, maxAttempts: 1, runAt: 10_000 }, 50);
      assert.deepEqual(await s.jobs.claim('w1', ['a'], 10, 99, 99), [], 'nothing is due yet');
      const [ja, ...rest] = await s.jobs.claim('w1', ['a'], 10, 1100, 100);
      assert.equal(rest.length, 0, 'only due jobs of the claimed kinds');
      assert.ok(ja);
      assert.deepEqual({ id: ja.id, status: ja.status, attempts: ja.attempts, payload: ja.payload, lockedBy: ja.lockedBy, lockedUntil: ja.lockedUntil }, { id: a, status: 'running', attempts: 1, payload: { n: 1, s: 'x' }, lockedBy: 'w1', lockedUntil: 1100 });
      assert.deepEqual(await s.jobs.claim('w2', ['a'], 10, 1200, 200), [], 'a leased job is not claimed twice');
      assert.equal(await s.jobs.complete(a, 'w2', 1, 201), false, 'only the holder completes a job');
      assert.equal(await s.jobs.complete(a, 'w1', 2, 201), false, 'only with the current claim number');
      assert.equal(await s.jobs.extend(a, 'w1', 1, 1500, 202), true);
      assert.equal(await s.jobs.fail(a, 'w1', 1, 'first try failed', 300, 210), true);
      assert.deepEqual((await s.jobs.list({ status: 'queued', limit: 10 })).map((j) => j.id), [a, b, later]);
      const again = await s.jobs.claim('w2', ['a', 'b'], 10, 2000, 300);
      assert.deepEqual(again.map((j) => [j.id, j.attempts]), [[b, 1], [a, 2]], 'due order: run_at, then id');
      assert.deepEqual(new Set(again.map((j) => j.id)), new Set([a, b]));
      assert.equal((await s.jobs.get(a))?.attempts, 2);
      assert.equal((await s.jobs.get(a))?.lastError, 'first try failed');
      assert.equal(await s.jobs.complete(a, 'w2', 2, 301), true);
      assert.equal(await s.jobs.fail(b, 'w2', 1, 'no retry', null, 302), true);
      assert.equal((await s.jobs.get(a))?.status, 'succeeded');
      assert.equal((await s.jobs.get(b))?.status, 'failed');
      assert.deepEqual((await s.jobs.list({ status: 'failed', limit: 10 })).map((j) => j.id), [b]);
      assert.deepEqual((await s.jobs.list({ kind: 'a', limit: 10 })).map((j) => j.id), [a, later]);
      assert.deepEqual((await s.jobs.list({ after: a, limit: 1 })).map((j) => j.id), [b]);
      for (const id of [a, b, later]) assert.equal(await s.jobs.delete(id), true);
      assert.equal(await s.jobs.delete(a), false);
      assert.equal(await s.jobs.get(a), undefined);
    });

    it('claims the earliest due jobs, queued and leases run out alike, at most the limit', async () => {
      // A lease that ran out (its worker died) with an early run_at, queued jobs around it, one
      // not yet due and one of a kind not claimed.
      const stale = await enqueue({ kind: 'due.a', payload: null, maxAttempts: 3, runAt: 15 }, 0);
      assert.deepEqual((await s.jobs.claim('dead', ['due.a'], 1, 500, 20)).map((j) => j.id), [stale]);
      const q = [];
      for (const runAt of [30, 10, 20, 40]) q.push(await enqueue({ kind: 'due.a', payload: null, maxAttempts: 1, runAt }, 0));
      const other = await enqueue({ kind: 'due.b', payload: null, maxAttempts: 1, runAt: 0 }, 0);
      const notYet = await enqueue({ kind: 'due.a', payload: null, maxAttempts: 1, runAt: 5_000 }, 0);
      const [q30, q10, q20, q40] = q;
      const first = await s.jobs.claim('w', ['due.a'], 3, 2_000, 1_000);
      assert.deepEqual(first.map((j) => j.id), [q10, stale, q20], 'by run_at across both kinds of due rows, cut at the limit');
      assert.equal(first.find((j) => j.id === stale)?.attempts, 2, 'the run-out lease is a new attempt');
      const second = await s.jobs.claim('w', ['due.a'], 3, 2_000, 1_000);
      assert.deepEqual(second.map((j) => j.id), [q30, q40], 'the rest, never a leased row again');
      assert.deepEqual(await s.jobs.claim('w', ['due.a'], 3, 2_000, 1_000), []);
      for (const id of [stale, ...q, other, notYet]) await s.jobs.delete(id!);
    });

    it('keeps at most one pending job per dedupe key', async () => {
      const first = await s.jobs.enqueue({ kind: 'sweep', payload: {}, maxAttempts: 1, runAt: 0, dedupeKey: 'sweep' }, 0);
      assert.ok(first !== undefined);
      assert.equal(await s.jobs.enqueue({ kind: 'sweep', payload: {}, maxAttempts: 1, runAt: 0, dedupeKey: 'sweep' }, 0), undefined);
      assert.equal((await s.jobs.get(first))?.dedupeKey, 'sweep');
      await s.jobs.claim('w', ['sweep'], 1, 100, 1);
      assert.equal(await s.jobs.enqueue({ kind: 'sweep', payload: {}, maxAttempts: 1, runAt: 0, dedupeKey: 'sweep' }, 2), undefined, 'a running job holds its key');
      await s.jobs.complete(first, 'w', 1, 3);
      const second = await s.jobs.enqueue({ kind: 'sweep', payload: {}, maxAttempts: 1, runAt: 0, dedupeKey: 'sweep' }, 4);
      assert.ok(second !== undefined && second !== first, 'a finished job frees its key');
      const free = await s.jobs.enqueue({ kind: 'sweep', payload: {}, maxAttempts: 1, runAt: 0 }, 5);
      assert.ok(free !== undefined, 'jobs without a key are never deduplicated');
      for (const id of [first, second, free]) await s.jobs.delete(id);
    });

    it('lets another worker take over a job whose lease expired, until its attempts are spent', async () => {
      const id = await enqueue({ kind: 'k', payload: {}, maxAttempts: 2, runAt: 0 }, 0);
      assert.equal((await s.jobs.claim('dead', ['k'], 1, 100, 10)).length, 1);
      assert.deepEqual(await s.jobs.claim('alive', ['k'], 1, 200, 100), [], 'the lease is still on at its last millisecond');
      const [taken] = await s.jobs.claim('alive', ['k'], 1, 300, 101);
      assert.equal(taken?.id, id);
      assert.equal(taken?.attempts, 2);
      assert.equal(taken?.lockedBy, 'alive');
      assert.equal(await s.jobs.complete(id, 'dead', 1, 102), false, 'the old holder lost the job');
      // The second holder dies too: its lease expires on the last attempt, so the job fails.
      assert.deepEqual(await s.jobs.claim('third', ['k'], 1, 900, 301), []);
      const failed = await s.jobs.get(id);
      assert.equal(failed?.status, 'failed');
      assert.match(failed?.lastError ?? '', /lease expired/);
      assert.equal(await s.jobs.delete(id), true);
    });

    it('claims each job exactly once when workers race', async () => {
      const ids = new Set<number>();
      for (let i = 0; i < 40; i++) ids.add(await enqueue({ kind: 'race', payload: i, maxAttempts: 1, runAt: 0 }, 0));
      const claimed: number[] = [];
      await Promise.all(
        ['w1', 'w2', 'w3', 'w4'].map(async (w) => {
          for (;;) {
            const got = await s.jobs.claim(w, ['race'], 3, 10_000, 1);
            if (got.length === 0) return;
            claimed.push(...got.map((j) => j.id));
          }
        }),
      );
      assert.equal(claimed.length, ids.size);
      assert.deepEqual(new Set(claimed), ids);
      for (const id of ids) await s.jobs.delete(id);
    });
  });
}
