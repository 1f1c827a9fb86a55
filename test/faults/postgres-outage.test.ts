/**
 * The metadata database goes away and comes back, inside the test: a private PostgreSQL
 * server (test/helpers/pg-cluster.ts) is stopped and started under a running Berth with auth
 * on. While it is down, the version check (`/v2/`, what health checks call), pushes, pulls and
 * logins answer 503 with Retry-After and a message naming the database, never a bare 500 (a
 * wrong password is not blamed on the server); once it is back, the same Berth serves again
 * without a restart and nothing acknowledged before the outage is lost.
 */
import assert from 'node:assert/strict';
import { TEST_KEY_ENCRYPTION_KEY } from '../helpers/node-process.js';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, randomBlob, sha256 } from '../helpers/oci.js';
import { createPgCluster, pgClusterSkipReason, type PgCluster } from '../helpers/pg-cluster.js';

const skip = pgClusterSkipReason();

async function unavailable(r: Response, what: string): Promise<void> {
  const body = await r.text();
  assert.equal(r.status, 503, `${what}: expected 503, got ${r.status} ${body}`);
  assert.ok(Number(r.headers.get('retry-after')) > 0, `${what}: Retry-After missing`);
  if (body) assert.match(body, /database is unreachable/, `${what}: the message must name the cause`);
}

describe('PostgreSQL outage', { skip, timeout: 120_000 }, () => {
  let pg: PgCluster;
  let b: TestBerth;
  /** A second node on the same database with auth off: its anonymous version check asks the database. */
  let open: TestBerth;
  const data = randomBlob(150_000, 0.61);
  const digest = sha256(data);

  before(async () => {
    pg = await createPgCluster();
    const metadata = { driver: 'postgres' as const, postgres: { url: pg.url, poolSize: 4, ssl: { enabled: false, rejectUnauthorized: true }, statementTimeoutMs: 10_000 } };
    const jobs = { enabled: false, concurrency: 1, pollMs: 1000, leaseSeconds: 60 };
    // Two nodes of one database: they share the key that seals the token-signing keys.
    b = await startAuthBerth({ metadata, jobs, auth: { keyEncryptionKey: TEST_KEY_ENCRYPTION_KEY } });
    open = await startBerth({ metadata, jobs, lifecycle: { schedulerEnabled: false }, auth: { enabled: false, keyEncryptionKey: TEST_KEY_ENCRYPTION_KEY } });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'outage', public: false }));
  });
  after(async () => {
    await open?.close();
    await b?.close();
    await pg?.destroy();
  });

  it('serves while the database is up', async () => {
    assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: ADMIN } })).status, 200);
    const r = await fetch(`${b.url}/v2/outage/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes(data), headers: { Authorization: ADMIN } });
    assert.equal(r.status, 201, await r.text());
  });

  it('answers 503 with Retry-After while the database is down', async () => {
    await pg.stop();
    // Anonymous version check of an open registry: what a load balancer's health check sends.
    await unavailable(await fetch(`${open.url}/v2/`), 'anonymous GET /v2/');
    await unavailable(await fetch(`${open.url}/v2/`, { method: 'HEAD' }), 'HEAD /v2/');
    await unavailable(await fetch(`${b.url}/v2/`, { headers: { Authorization: ADMIN } }), 'GET /v2/ with credentials');
    // A wrong password cannot be checked either: 503, not 500 and not 401.
    await unavailable(await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('admin', 'wrong-password') } }), 'GET /v2/ with a wrong password');
    const r = await fetch(`${b.url}/api/v1/users`, { headers: { Authorization: basic('someone', 'wrong') } });
    assert.equal(r.status, 503, await r.text());
    assert.ok(r.headers.get('retry-after'));
    await unavailable(await fetch(`${b.url}/v2/outage/app/blobs/${digest}`, { method: 'HEAD', headers: { Authorization: ADMIN } }), 'HEAD blob');
    const other = randomBlob(20_000, 0.62);
    await unavailable(await fetch(`${b.url}/v2/outage/app/blobs/uploads/?digest=${sha256(other)}`, { method: 'POST', body: bytes(other), headers: { Authorization: ADMIN } }), 'monolithic push');
  });

  it('serves again once the database is back, with everything acknowledged before', async () => {
    await pg.start();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await fetch(`${b.url}/v2/`, { headers: { Authorization: ADMIN } });
      await r.arrayBuffer();
      if (r.status === 200) break;
      assert.ok(Date.now() < deadline, `still ${r.status} 20 s after the database came back`);
      await sleep(200);
    }
    const got = await fetch(`${b.url}/v2/outage/app/blobs/${digest}`, { headers: { Authorization: ADMIN } });
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
    const other = randomBlob(20_000, 0.63);
    const r = await fetch(`${b.url}/v2/outage/app/blobs/uploads/?digest=${sha256(other)}`, { method: 'POST', body: bytes(other), headers: { Authorization: ADMIN } });
    assert.equal(r.status, 201, await r.text());
    assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('admin', 'wrong-password') } })).status, 401);
  });
});
