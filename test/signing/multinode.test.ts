/**
 * The verdict cache across nodes: two Berth servers over one PostgreSQL database and one blob
 * folder. A verdict cached on node B must go the moment node A removes the signature or stops
 * trusting the key (announced through LISTEN/NOTIFY), and a signature pushed on A counts on B
 * at once (refusals are never cached).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from '../helpers/auth.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { pushImage } from '../helpers/oci.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { nodeKey, payloadFor, pushCosign } from './helpers.js';

const skip = await postgresSkipReason();
const R = 'team/app';

const status = async (url: string, ref: string) => (await fetch(`${url}/v2/${R}/manifests/${ref}`)).status;

describe('signature verdicts on two nodes over one PostgreSQL database', { skip }, () => {
  let db: TestDatabase;
  let dir: string;
  let a: TestBerth;
  let b: TestBerth;
  const key = nodeKey('ec-p256');

  before(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-signing-nodes-'));
    const config = {
      metadata: { driver: 'postgres' as const, postgres: { url: db.url } },
      storage: { driver: 'filesystem' as const, filesystem: { root: join(dir, 'blobs') } },
      auth: { enabled: false, keyEncryptionKey: 'a-key-encryption-key-shared-by-both-nodes' },
    };
    a = await startBerth({ ...config, dataDir: join(dir, 'a') });
    b = await startBerth({ ...config, dataDir: join(dir, 'b') });
    assert.equal((await api(a.url, 'POST', '/projects', undefined, { name: 'team' })).status, 201);
    assert.equal((await api(a.url, 'PUT', '/projects/team/signing', undefined, { verify: { keys: [key.publicKey], enforce: true } })).status, 200);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('drops a cached allow on every node when a signature or a key goes', async () => {
    const img = await pushImage(a.url, R, 'v1');
    assert.equal(await status(b.url, 'v1'), 403);
    const sig = await pushCosign(a.url, R, { digest: img.digest, size: img.manifest.length }, [{ payload: payloadFor(R, img.digest), key }], 'tag');
    assert.equal(await status(b.url, 'v1'), 200, 'a signature pushed on A counts on B at once');
    assert.equal(await status(b.url, 'v1'), 200);

    assert.equal((await fetch(`${a.url}/v2/${R}/manifests/${sig}`, { method: 'DELETE' })).status, 202);
    assert.equal(await status(b.url, 'v1'), 403, "B dropped its cached verdict when A deleted the signature");

    await pushCosign(a.url, R, { digest: img.digest, size: img.manifest.length }, [{ payload: payloadFor(R, img.digest), key }], 'tag');
    assert.equal(await status(b.url, 'v1'), 200);
    assert.equal((await api(a.url, 'PUT', '/projects/team/signing', undefined, { verify: { keys: [], enforce: true } })).status, 200);
    assert.equal(await status(b.url, 'v1'), 403, 'B dropped its cached policy and verdicts when A changed the keys');
  });
});
