/**
 * Project settings are kept per process while the change feed vouches for them: repeated reads
 * (every push reads quota and immutability several times) reach the database once, and a change
 * made through any process's LifecycleSettings applies to the next read in every process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LifecycleSettings } from '../../src/lifecycle/settings.js';
import { LocalChangeFeed } from '../../src/metadata/change-feed.js';
import type { MetadataQueries } from '../../src/metadata/store.js';
import { sqliteHarness, type StoreHarness } from '../helpers/metadata.js';

/** The store's settings queries, counting the reads that reach it. */
function counted(h: StoreHarness): { store: Pick<MetadataQueries, 'lifecycleSettings'>; reads: () => number } {
  let reads = 0;
  const real = h.store.lifecycleSettings;
  const lifecycleSettings = Object.create(real, {
    get: {
      value: (project: string) => {
        reads++;
        return real.get(project);
      },
    },
  }) as MetadataQueries['lifecycleSettings'];
  return { store: { lifecycleSettings }, reads: () => reads };
}

const QUOTA = { bytes: 1000, repositories: null, tags: null };

describe('lifecycle settings cache', () => {
  let h: StoreHarness;
  before(async () => {
    h = await sqliteHarness();
  });
  after(() => h?.close());

  it('reads a project once, and every process sees a change at its next read', async () => {
    const feed = new LocalChangeFeed();
    const a = counted(h);
    const b = counted(h);
    const here = new LifecycleSettings(a.store, Date.now, feed);
    const there = new LifecycleSettings(b.store, Date.now, feed);
    for (let i = 0; i < 5; i++) assert.equal((await here.get('p')).quota, null);
    assert.equal(a.reads(), 1);
    assert.equal((await there.get('p')).quota, null);
    await here.set('p', 'quota', QUOTA);
    assert.deepEqual((await there.get('p')).quota, QUOTA, 'the other process sees the change');
    assert.deepEqual((await here.get('p')).quota, QUOTA);
    assert.equal(b.reads(), 2);
    assert.equal(a.reads(), 2);
    await there.set('p', 'quota', null);
    assert.equal((await here.get('p')).quota, null);
  });

  it('without a feed, reads every time', async () => {
    const a = counted(h);
    const settings = new LifecycleSettings(a.store);
    await settings.get('q');
    await settings.get('q');
    assert.equal(a.reads(), 2);
  });
});
