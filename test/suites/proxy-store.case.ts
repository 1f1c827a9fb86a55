/**
 * The contract of the pull-through cache's manifest rows (src/metadata/proxy-store.ts), run
 * unchanged on every metadata backend through interface methods only; afterEach fails a test
 * that left a row behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachedManifest, ProxyCacheQueries, ProxyUpstreamQueries } from '../../src/metadata/proxy-store.js';
import type { StoreHarness } from '../helpers/metadata.js';
import { digest, repo, storeHooks } from './store-fixtures.js';

export function proxyStoreSuite(name: string, open: () => Promise<StoreHarness>, cacheOf: (h: StoreHarness) => ProxyCacheQueries, upstreamsOf: (h: StoreHarness) => ProxyUpstreamQueries, skip?: string): void {
  describe(`Proxy cache store contract: ${name}`, { skip }, () => {
    let c: ProxyCacheQueries;
    let ups: ProxyUpstreamQueries;
    storeHooks(open, (h) => {
      c = cacheOf(h);
      ups = upstreamsOf(h);
    });

    it('stored upstreams: insert, list by name, a second insert of a name conflicts, delete', async () => {
      const a = { name: 'quay', settings: { url: 'https://quay.io', mirrorOf: ['quay.io'] }, passwordSealed: 'sealed:v1:abc', createdAt: 3 };
      const b = { name: 'ghcr', settings: { url: 'https://ghcr.io' }, passwordSealed: '', createdAt: 4 };
      await ups.insert(a);
      await ups.insert(b);
      assert.deepEqual(await ups.list(), [b, a]);
      await assert.rejects(ups.insert({ ...a, passwordSealed: 'other' }), (e: Error) => e.name === 'ConflictError');
      assert.deepEqual((await ups.list())[1], a, 'a conflicting insert changes nothing');
      assert.equal(await ups.delete('quay'), true);
      assert.equal(await ups.delete('quay'), false);
      assert.equal(await ups.delete('ghcr'), true);
      assert.deepEqual(await ups.list(), []);
    });

    const row = (reference: string, over: Partial<CachedManifest> = {}): CachedManifest => ({
      repository: repo('hub/library/alpine'),
      reference,
      upstream: 'hub',
      digest: digest(`m-${reference}`),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: Buffer.from(`{"reference":"${reference}"}`),
      fetchedAt: 10,
      checkedAt: 10,
      pulledAt: 10,
      ...over,
    });

    it('put then get returns the row exactly; a second put replaces it', async () => {
      const a = row('3.20');
      await c.put(a);
      assert.deepEqual(await c.get(a.repository, '3.20'), a);
      const b = row('3.20', { digest: digest('moved'), content: Buffer.from('{"moved":true}'), fetchedAt: 20, checkedAt: 20, pulledAt: 20 });
      await c.put(b);
      assert.deepEqual(await c.get(a.repository, '3.20'), b);
      assert.equal(await c.get(repo('hub/library/other'), '3.20'), undefined);
      assert.equal(await c.delete(a.repository, '3.20'), true);
      assert.equal(await c.delete(a.repository, '3.20'), false);
      assert.equal(await c.get(a.repository, '3.20'), undefined);
    });

    it('markChecked and markPulled move only their own time', async () => {
      const a = row('latest');
      await c.put(a);
      await c.markChecked(a.repository, 'latest', 50);
      await c.markPulled(a.repository, 'latest', 70);
      assert.deepEqual(await c.get(a.repository, 'latest'), { ...a, checkedAt: 50, pulledAt: 70 });
      await c.delete(a.repository, 'latest');
    });

    it('list orders one upstream least recently pulled first; count sums its rows and bytes', async () => {
      await c.put(row('a', { pulledAt: 30 }));
      await c.put(row('b', { pulledAt: 10 }));
      await c.put(row('c', { pulledAt: 20, upstream: 'other' }));
      assert.deepEqual((await c.list('hub', 10)).map((m) => m.reference), ['b', 'a']);
      assert.deepEqual((await c.list('hub', 1)).map((m) => m.reference), ['b']);
      const bytes = row('a').content.length + row('b').content.length;
      assert.deepEqual(await c.count('hub'), { manifests: 2, bytes });
      assert.deepEqual(await c.count('none'), { manifests: 0, bytes: 0 });
      for (const r of ['a', 'b', 'c']) await c.delete(repo('hub/library/alpine'), r);
    });

    it('tags lists the cached tags of one repository (never digests) in order, after `last`, at most n', async () => {
      const digestRef = row('sha256:' + 'a'.repeat(64));
      for (const r of [row('v2'), row('latest'), row('v1'), digestRef, row('v1', { repository: repo('hub/library/other') })]) await c.put(r);
      const alpine = repo('hub/library/alpine');
      assert.deepEqual(await c.tags(alpine, undefined, 10), ['latest', 'v1', 'v2']);
      assert.deepEqual(await c.tags(alpine, 'latest', 1), ['v1']);
      assert.deepEqual(await c.tags(alpine, 'v2', 10), []);
      assert.deepEqual(await c.tags(repo('hub/library/none'), undefined, 10), []);
      for (const r of ['v2', 'latest', 'v1', digestRef.reference]) await c.delete(alpine, r);
      await c.delete(repo('hub/library/other'), 'v1');
    });

    it('a preheat record is created queued, takes its progress, and is deleted', async () => {
      const p = await c.createPreheat({ id: 'p1', upstream: 'hub', references: ['library/alpine:3.20', 'library/busybox@sha256:abc'] }, 5);
      assert.deepEqual(p, { id: 'p1', upstream: 'hub', references: ['library/alpine:3.20', 'library/busybox@sha256:abc'], status: 'queued', done: 0, failed: 0, blobs: 0, bytes: 0, errors: [], createdAt: 5, updatedAt: 5 });
      await assert.rejects(c.createPreheat({ id: 'p1', upstream: 'hub', references: [] }, 6), (e: Error) => e.name === 'ConflictError');
      assert.equal(await c.updatePreheat('p1', { status: 'running', done: 1, failed: 1, blobs: 3, bytes: 1234, errors: ['x: no such tag'] }, 9), true);
      assert.deepEqual(await c.getPreheat('p1'), { ...p, status: 'running', done: 1, failed: 1, blobs: 3, bytes: 1234, errors: ['x: no such tag'], updatedAt: 9 });
      assert.equal(await c.updatePreheat('none', { status: 'running', done: 0, failed: 0, blobs: 0, bytes: 0, errors: [] }, 9), false);
      assert.equal(await c.deletePreheat('p1'), true);
      assert.equal(await c.getPreheat('p1'), undefined);
    });
  });
}
