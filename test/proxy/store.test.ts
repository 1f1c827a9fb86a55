/** The proxy cache store contract on SQLite and on PostgreSQL (skipped outside CI when no server answers). */
import { SqlProxyCache, SqlProxyUpstreams } from '../../src/metadata/sql/proxy-cache.js';
import { postgresHarness, sqliteHarness } from '../helpers/metadata.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { proxyStoreSuite } from '../suites/proxy-store.case.js';

proxyStoreSuite('sqlite', sqliteHarness, (h) => new SqlProxyCache(h.store.db), (h) => new SqlProxyUpstreams(h.store.db));
proxyStoreSuite('postgres', postgresHarness, (h) => new SqlProxyCache(h.store.db), (h) => new SqlProxyUpstreams(h.store.db), await postgresSkipReason());
