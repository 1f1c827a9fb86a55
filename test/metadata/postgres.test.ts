/**
 * The metadata contract suites over PostgreSQL, each in a database created for its run and
 * dropped after it. Skips outside CI when no server is reachable; fails under CI=true.
 */
import { pino } from 'pino';
import { PostgresChangeFeed } from '../../src/metadata/feeds/postgres.js';
import { SqlAuthStore } from '../../src/metadata/sql/auth-store.js';
import { postgresConfig, postgresHarness } from '../helpers/metadata.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { authStoreSuite } from '../suites/auth-store.case.js';
import { changeFeedSuite, feedPair } from '../suites/change-feed.case.js';
import { eventStoreSuite } from '../suites/event-store.case.js';
import { gcStoreSuite } from '../suites/gc-store.case.js';
import { lifecycleStoreSuite } from '../suites/lifecycle-store.case.js';
import { metadataStoreSuite } from '../suites/metadata-store.case.js';
import { scanStoreSuite } from '../suites/scan-store.case.js';
import { SqlScanStore } from '../../src/metadata/sql/scans.js';
import { signingStoreSuite } from '../suites/signing-store.case.js';

const skip = await postgresSkipReason();
metadataStoreSuite('postgres', postgresHarness, skip);
gcStoreSuite('postgres', postgresHarness, skip);
lifecycleStoreSuite('postgres', postgresHarness, skip);
scanStoreSuite(
  'postgres',
  async () => {
    const h = await postgresHarness();
    return { scans: new SqlScanStore(h.store.db, h.store.dialect), meta: h.store, rowCounts: () => h.rowCounts(), close: () => h.close() };
  }, skip,
);
signingStoreSuite('postgres', postgresHarness, skip);
eventStoreSuite('postgres', postgresHarness, skip);
authStoreSuite(
  'postgres',
  async () => {
    const h = await postgresHarness();
    return { auth: new SqlAuthStore(h.store.db, h.store.dialect), meta: h.store, rowCounts: () => h.rowCounts(), close: () => h.close() };
  },
  skip,
);
changeFeedSuite(
  'postgres (nodes sharing one database)',
  async () => {
    const h = await postgresHarness();
    const log = pino({ level: 'silent' });
    const cfg = postgresConfig(h.location.where);
    const otherStore = await h.another();
    return feedPair(await PostgresChangeFeed.open(cfg, h.store.db, log), await PostgresChangeFeed.open(cfg, otherStore.db, log), h);
  },
  skip,
);
