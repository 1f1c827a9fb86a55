/** The metadata contract suites over SQLite (a database file in a temp folder each). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlAuthStore } from '../../src/metadata/sql/auth-store.js';
import { LocalChangeFeed } from '../../src/metadata/change-feed.js';
import { SqliteChangeFeed } from '../../src/metadata/feeds/sqlite.js';
import { sqliteHarness } from '../helpers/metadata.js';
import { authStoreSuite } from '../suites/auth-store.case.js';
import { changeFeedSuite, feedPair } from '../suites/change-feed.case.js';
import { eventStoreSuite } from '../suites/event-store.case.js';
import { gcStoreSuite } from '../suites/gc-store.case.js';
import { lifecycleStoreSuite } from '../suites/lifecycle-store.case.js';
import { metadataStoreSuite } from '../suites/metadata-store.case.js';
import { scanStoreSuite } from '../suites/scan-store.case.js';
import { SqlScanStore } from '../../src/metadata/sql/scans.js';
import { signingStoreSuite } from '../suites/signing-store.case.js';

metadataStoreSuite('sqlite', sqliteHarness);
gcStoreSuite('sqlite', sqliteHarness);
lifecycleStoreSuite('sqlite', sqliteHarness);
scanStoreSuite(
  'sqlite',
  async () => {
    const h = await sqliteHarness();
    return { scans: new SqlScanStore(h.store.db, h.store.dialect), meta: h.store, rowCounts: () => h.rowCounts(), close: () => h.close() };
  },
);
signingStoreSuite('sqlite', sqliteHarness);
eventStoreSuite('sqlite', sqliteHarness);
authStoreSuite('sqlite', async () => {
  const h = await sqliteHarness();
  return { auth: new SqlAuthStore(h.store.db, h.store.dialect), meta: h.store, rowCounts: () => h.rowCounts(), close: () => h.close() };
});
changeFeedSuite('in-process', async () => {
  const feed = new LocalChangeFeed();
  return { feed, close: () => feed.close() };
});
changeFeedSuite('sqlite (processes sharing one file)', async () => {
  const h = await sqliteHarness();
  return feedPair(SqliteChangeFeed.open(h.location.where), SqliteChangeFeed.open(h.location.where), h);
});

test('a feed publishes while this process\'s own writing connection holds the write lock for its shared transaction', async () => {
  const h = await sqliteHarness();
  const feed = SqliteChangeFeed.open(h.location.where);
  const other = SqliteChangeFeed.open(h.location.where);
  try {
    const seen: string[] = [];
    other.subscribe((repo) => seen.push(repo));
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const write = h.store.transaction(async (tx) => {
      await tx.settings.put('held', 'yes');
      opened();
    });
    // The store's transaction now holds SQLite's write lock, until its COMMIT at the end of this turn.
    await open;
    const started = Date.now();
    await feed.publish('feed/repo');
    assert.ok(Date.now() - started < 5000, `publish waited ${Date.now() - started} ms`);
    await write;
    assert.equal(await other.sync(), true);
    assert.deepEqual(seen, ['feed/repo']);
    assert.equal(await h.store.settings.get('held'), 'yes');
  } finally {
    await feed.close();
    await other.close();
    await h.close();
  }
});
