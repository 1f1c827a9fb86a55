/**
 * The manifest cache (src/registry/manifest-cache.ts): hits and misses as counted, a
 * repository's invalidation retiring its entries (also one read before it and stored after),
 * and eviction by second chance: without reads the oldest entry goes first; an entry read since
 * eviction last passed it stays, and the next unread one goes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManifestCache } from '../../src/registry/manifest-cache.js';
import type { ManifestRecord } from '../../src/metadata/store.js';
import type { Digest } from '../../src/domain/names.js';

function record(tag: string): ManifestRecord {
  return { digest: `sha256:${tag.padEnd(64, '0')}` as Digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, size: 2, content: Buffer.from('{}'), pushedAt: 0 };
}

function fill(cache: ManifestCache, tags: string[]): void {
  for (const t of tags) cache.set('p/r', t, cache.generation('p/r'), record(t));
}

const present = (cache: ManifestCache, tags: string[]) => tags.filter((t) => cache.get('p/r', t) !== undefined);

test('a stored manifest is a hit until its repository is invalidated; a read that raced the invalidation is not stored', () => {
  const seen: boolean[] = [];
  const cache = new ManifestCache(10, (hit) => seen.push(hit));
  const before = cache.generation('p/r');
  cache.set('p/r', 'a', before, record('a'));
  assert.equal(cache.get('p/r', 'a')?.digest, record('a').digest);
  assert.equal(cache.get('p/other', 'a'), undefined, 'entries are per repository');
  cache.invalidate('p/r');
  assert.equal(cache.get('p/r', 'a'), undefined);
  cache.set('p/r', 'b', before, record('b'));
  assert.equal(cache.get('p/r', 'b'), undefined, 'a record read before the invalidation is not kept');
  assert.deepEqual(seen, [true, false, false, false]);
});

test('without reads, the oldest entry is evicted first', () => {
  const cache = new ManifestCache(3);
  fill(cache, ['a', 'b', 'c', 'd']);
  // Checking presence reads entries, so each check runs on a fresh fill.
  assert.deepEqual(present(cache, ['a', 'b', 'c', 'd']), ['b', 'c', 'd']);
  const again = new ManifestCache(3);
  fill(again, ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(present(again, ['a', 'b', 'c', 'd', 'e']), ['c', 'd', 'e']);
});

test('an entry read since eviction last passed it stays; the oldest unread one goes instead', () => {
  const cache = new ManifestCache(3);
  fill(cache, ['a', 'b', 'c']);
  assert.ok(cache.get('p/r', 'a'), 'a is read');
  fill(cache, ['d']);
  // a had its second chance: it stays (moved behind c), b goes.
  const evictedFirst = new ManifestCache(3);
  fill(evictedFirst, ['a', 'b', 'c']);
  evictedFirst.get('p/r', 'a');
  fill(evictedFirst, ['d', 'e']);
  // After d: c, a(passed), d. e evicts c, the oldest unread; a stays until passed again unread.
  assert.deepEqual(present(evictedFirst, ['a', 'b', 'c', 'd', 'e']), ['a', 'd', 'e']);
  assert.deepEqual(present(cache, ['a', 'b', 'c', 'd']), ['a', 'c', 'd']);
});

test('when every entry was read, one pass clears the flags and the oldest goes', () => {
  const cache = new ManifestCache(3);
  fill(cache, ['a', 'b', 'c']);
  for (const t of ['a', 'b', 'c']) cache.get('p/r', t);
  fill(cache, ['d']);
  assert.deepEqual(present(cache, ['a', 'b', 'c', 'd']), ['b', 'c', 'd']);
});
