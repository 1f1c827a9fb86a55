/**
 * Health, readiness and read-only mode against real backends. `/readyz` turns 503, naming the
 * failing part, when the PostgreSQL server or the S3 store (Ceph RGW) becomes unreachable, and
 * 200 again when it is back: Berth reaches each through a TCP forwarder the test cuts and
 * restores (the shared servers keep running for other tests). Read-only mode switched on one
 * node is obeyed by another node of the same database: pushes, deletes and management writes
 * are refused with 503 (an OCI UNAVAILABLE code on /v2, a problem on /api/v1) while pulls go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, pushBlob, pushImage, randomBlob, sha256 } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { cephEndpoint, createBucket, deleteBucket, s3Settings, type S3Endpoint } from '../helpers/s3.js';
import { TEST_KEY_ENCRYPTION_KEY } from '../helpers/node-process.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';

interface Ready {
  status: string;
  metadata: string;
  migrations: string;
  storage: string;
}

async function readyz(url: string): Promise<{ code: number; body: Ready }> {
  const r = await fetch(`${url}/readyz`);
  return { code: r.status, body: (await r.json()) as Ready };
}

/** Polls `/readyz` until it answers `code` (the pool notices a cut connection on its next query). */
async function readyzBecomes(url: string, code: number, ms = 20_000): Promise<Ready> {
  const deadline = Date.now() + ms;
  let last: { code: number; body: Ready } | undefined;
  while (Date.now() < deadline) {
    last = await readyz(url);
    if (last.code === code) return last.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`/readyz stayed ${last?.code} ${JSON.stringify(last?.body)} instead of ${code}`);
}

const pgSkip = await postgresSkipReason();

describe('health and readiness', () => {
  it('answers /healthz and /readyz on the embedded default', async () => {
    const b = await startBerth();
    try {
      const h = await fetch(`${b.url}/healthz`);
      assert.equal(h.status, 200);
      assert.deepEqual(await h.json(), { status: 'ok' });
      assert.deepEqual(await readyz(b.url), { code: 200, body: { status: 'ready', metadata: 'ok', migrations: 'ok', storage: 'ok' } });
    } finally {
      await b.close();
    }
  });

  it('turns /readyz 503 while PostgreSQL is unreachable, and 200 when it is back', { skip: pgSkip }, async () => {
    const db = await createTestDatabase();
    const pgUrl = new URL(db.url);
    const proxy = await tcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    pgUrl.host = `127.0.0.1:${proxy.port}`;
    const b = await startBerth({ metadata: { driver: 'postgres', postgres: { url: pgUrl.toString() } }, health: { timeoutSeconds: 2 } });
    try {
      assert.equal((await readyz(b.url)).code, 200);
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      assert.match(metrics, /^berth_metadata_pool_connections\{state="max"\} 10$/m, 'the PostgreSQL pool is reported');
      assert.match(metrics, /^berth_metadata_pool_connections\{state="open"\} [1-9]/m);
      await proxy.stop();
      const down = await readyzBecomes(b.url, 503);
      assert.equal(down.status, 'unavailable');
      assert.notEqual(down.metadata, 'ok');
      assert.equal(down.storage, 'ok', 'only the failing part is named');
      // Liveness is not readiness: the process still answers.
      assert.equal((await fetch(`${b.url}/healthz`)).status, 200);
      await proxy.start();
      const up = await readyzBecomes(b.url, 200);
      assert.deepEqual(up, { status: 'ready', metadata: 'ok', migrations: 'ok', storage: 'ok' });
    } finally {
      await proxy.start().catch(() => {});
      await b.close();
      await proxy.close();
      await db.drop();
    }
  });

  describe('with S3 (Ceph RGW)', () => {
    let ep: S3Endpoint | string;
    before(async () => {
      ep = await cephEndpoint();
    });

    it('turns /readyz 503 while the S3 store is unreachable, and 200 when it is back', async (t) => {
      if (typeof ep === 'string') return t.skip(ep);
      const bucket = await createBucket(ep);
      const target = new URL(ep.endpoint);
      const proxy = await tcpProxy(target.hostname, Number(target.port || 80));
      const settings = { ...s3Settings(ep, bucket), endpoint: `http://127.0.0.1:${proxy.port}` };
      const b = await startBerth({ storage: { driver: 's3', s3: settings }, health: { timeoutSeconds: 2 } });
      try {
        assert.equal((await readyz(b.url)).code, 200);
        await pushBlob(b.url, 'team/s3', randomBlob(100));
        await proxy.stop();
        const down = await readyzBecomes(b.url, 503);
        assert.notEqual(down.storage, 'ok');
        assert.equal(down.metadata, 'ok');
        await proxy.start();
        assert.equal((await readyzBecomes(b.url, 200)).storage, 'ok');
      } finally {
        await proxy.start().catch(() => {});
        await b.close();
        await proxy.close();
        await deleteBucket(ep, bucket, true);
      }
    });
  });
});

describe('read-only mode', { skip: pgSkip }, () => {
  let db: TestDatabase;
  let a: TestBerth;
  let b: TestBerth;
  before(async () => {
    db = await createTestDatabase();
    const shared = {
      metadata: { driver: 'postgres' as const, postgres: { url: db.url } },
      readOnly: { recheckSeconds: 0.2 },
      // Nodes with data folders of their own share the key that seals the token-signing keys.
      auth: { enabled: false, keyEncryptionKey: TEST_KEY_ENCRYPTION_KEY },
    };
    a = await startBerth(shared);
    // The second node shares the database (and, for this test, the first one's blob folder).
    b = await startBerth({ ...shared, storage: { driver: 'filesystem', filesystem: { root: `${a.dataDir}/storage` } } });
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await db?.drop();
  });

  const setReadOnly = (node: TestBerth, enabled: boolean, reason?: string) =>
    fetch(`${node.url}/api/v1/system/read-only`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ enabled, ...(reason ? { reason } : {}) }) });

  it('is switched on one node and obeyed by the other: writes refused with 503, pulls go on', async () => {
    const img = await pushImage(a.url, 'team/ro', 'v1');
    const on = await setReadOnly(a, true, 'storage migration');
    assert.equal(on.status, 200);
    assert.deepEqual(await on.json(), { enabled: true, reason: 'storage migration', source: 'switch', changedBy: 'anonymous', changedAt: (await (await fetch(`${a.url}/api/v1/system/read-only`)).json() as { changedAt: number }).changedAt });

    // Node b follows within readOnly.recheckSeconds.
    const layer = randomBlob(500);
    let refused: Response | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const r = await fetch(`${b.url}/v2/team/ro/blobs/uploads/?digest=${sha256(layer)}`, { method: 'POST', body: bytes(layer) });
      if (r.status === 503) refused = r;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(refused, 'node b refuses a push once the switch is on');
    const err = (await refused.json()) as { errors: { code: string; message: string; detail: { reason: string } }[] };
    assert.equal(err.errors[0]!.code, 'UNAVAILABLE');
    assert.match(err.errors[0]!.message, /read-only mode \(storage migration\)/);

    for (const node of [a, b]) {
      // Pulls go on.
      const m = await fetch(`${node.url}/v2/team/ro/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(m.status, 200);
      assert.equal(sha256(Buffer.from(await m.arrayBuffer())), img.digest);
      assert.equal((await fetch(`${node.url}/v2/team/ro/blobs/${sha256(img.layers[0]!)}`)).status, 200);
      // Pushes, deletes and management writes do not.
      const put = await fetch(`${node.url}/v2/team/ro/manifests/v2`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: bytes(img.manifest) });
      assert.equal(put.status, 503);
      assert.equal(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAVAILABLE');
      const del = await fetch(`${node.url}/v2/team/ro/manifests/${img.digest}`, { method: 'DELETE' });
      assert.equal(del.status, 503);
      const api = await fetch(`${node.url}/api/v1/projects`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'newproject' }) });
      assert.equal(api.status, 503);
      assert.match(api.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = (await api.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'UNAVAILABLE');
      assert.match(problem.detail, /read-only/);
    }
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /^berth_system_read_only 1$/m);

    // Off again (from the other node): writes work everywhere.
    assert.equal((await setReadOnly(b, false)).status, 200);
    let accepted = false;
    for (let i = 0; i < 50 && !accepted; i++) {
      accepted = (await fetch(`${a.url}/v2/team/ro/blobs/uploads/?digest=${sha256(layer)}`, { method: 'POST', body: bytes(layer) })).status === 201;
      if (!accepted) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(accepted, 'node a accepts pushes again');
    assert.equal((await fetch(`${a.url}/v2/team/ro/manifests/${img.digest}`)).status, 200, 'nothing was deleted while read-only');
  });

  it('cannot be turned off through the API when the configuration forces it', async () => {
    const forced = await startBerth({ readOnly: { enabled: true } });
    try {
      const state = (await (await fetch(`${forced.url}/api/v1/system/read-only`)).json()) as { enabled: boolean; source: string };
      assert.deepEqual([state.enabled, state.source], [true, 'config']);
      const off = await setReadOnly(forced, false);
      assert.equal(off.status, 409);
      const blob = randomBlob(10);
      assert.equal((await fetch(`${forced.url}/v2/team/x/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: bytes(blob) })).status, 503);
      const bad = await fetch(`${forced.url}/api/v1/system/read-only`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ enabled: 'yes' }) });
      assert.equal(bad.status, 400);
    } finally {
      await forced.close();
    }
  });
});
