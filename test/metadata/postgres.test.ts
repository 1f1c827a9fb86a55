/**
 * The metadata contract suites over PostgreSQL, each in a database created for its run and
 * dropped after it. Skips outside CI when no server is reachable; fails under CI=true.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { PostgresChangeFeed } from '../../src/metadata/feeds/postgres.js';
import { SqlAuthStore } from '../../src/metadata/sql/auth-store.js';
import { postgresConfig, postgresHarness } from '../helpers/metadata.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
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

describe('the PostgreSQL change feed after close', { skip }, () => {
  it('opens no connection and schedules no retry once closed, even mid-reconnect', { timeout: 60_000 }, async () => {
    const h = await postgresHarness();
    const target = new URL(h.location.where);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(h.location.where);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const feed = await PostgresChangeFeed.open(postgresConfig(viaProxy.toString()), h.store.db, pino({ level: 'silent' }));
    // The path is cut, and the same port then takes connections and never answers: the
    // feed's reconnect is in flight (waiting for the server's reply) when it is closed.
    await proxy.stop();
    const held = new Set<Socket>();
    const silent = createServer((s) => {
      held.add(s);
      s.on('error', () => {});
    });
    silent.listen(proxy.port, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const deadline = Date.now() + 20_000;
      while (held.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(held.size > 0, 'the feed tried to reconnect');
      await feed.close();
      for (const s of held) s.destroy();
      const before = held.size;
      // Longer than the longest pause between attempts (5 s).
      await new Promise((r) => setTimeout(r, 6_000));
      assert.equal(held.size, before, 'no connection attempt after close');
    } finally {
      silent.close();
      for (const s of held) s.destroy();
      await h.close();
    }
  });
});
