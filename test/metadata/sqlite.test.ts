/** The metadata contract suites over SQLite (a database file in a temp folder each). */
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
