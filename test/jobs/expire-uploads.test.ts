/** The `uploads.expire` job over a real server: stale sessions go with their bytes, busy ones stay. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expireUploads } from '../../src/jobs/handlers/expire-uploads.js';
import { startBerth } from '../helpers/berth.js';
import { bytes, randomBlob } from '../helpers/oci.js';

test('uploads.expire removes stale sessions and their bytes, but not one being written', async () => {
  const t = await startBerth({ jobs: { enabled: false } });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${t.url}/v2/exp/app/blobs/uploads/`, { method: 'POST' });
      const loc = r.headers.get('location')!;
      assert.equal((await fetch(new URL(loc, t.url), { method: 'PATCH', body: bytes(randomBlob(1000)) })).status, 202);
      ids.push(r.headers.get('docker-upload-uuid')!);
    }
    // The second upload has a chunk streaming somewhere: its write lease is held.
    assert.equal(await t.berth.meta.uploads.lock(ids[1]!, 'someone', Date.now() + 60_000, Date.now()), true);
    const later = () => Date.now() + 10_000;
    await expireUploads(t.berth.meta, t.berth.blobs, 5_000, later)({}, { job: undefined as never, signal: new AbortController().signal });
    assert.equal(await t.berth.meta.uploads.get(ids[0]!), undefined);
    assert.ok(await t.berth.meta.uploads.get(ids[1]!), 'the upload being written stays');
    const inStorage: string[] = [];
    for await (const u of t.berth.blobs.listUploads()) inStorage.push(u.id);
    assert.deepEqual(inStorage, [ids[1]]);
    const status = await fetch(`${t.url}/v2/exp/app/blobs/uploads/${ids[0]}`);
    assert.equal(status.status, 404);
  } finally {
    await t.close();
  }
});
