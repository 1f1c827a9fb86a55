/**
 * Reads never serve wrong bytes silently on S3 either (a real Ceph RADOS Gateway): an object
 * overwritten with other bytes of the same size is caught by `storage.verifyReads` on the
 * streamed read path (the connection is cut before the last byte, the object removed, the next
 * HEAD says 404, a re-push repairs it), and a shorter object reads as missing before the
 * response starts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { after, before, describe, it } from 'node:test';
import { createS3Client } from '../../src/storage/s3/client.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { pushBlob, randomBlob } from '../helpers/oci.js';
import { cephEndpoint } from '../helpers/s3.js';
import { testStorage, type TestStorage } from '../helpers/storage.js';

const ep = await cephEndpoint();

function rawGet(url: string): Promise<{ status: number; received: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let received = 0;
        const done = (complete: boolean) => resolve({ status: res.statusCode!, received, complete });
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => done(true));
        res.on('error', () => done(false));
        res.on('aborted', () => done(false));
      })
      .on('error', reject);
  });
}

describe('verified reads over S3 (Ceph RGW)', { skip: typeof ep === 'string' ? ep : false }, () => {
  let b: TestBerth;
  let storage: TestStorage;
  before(async () => {
    storage = (await testStorage('s3'))!;
    const s3 = (storage.storage as { driver: 's3'; s3: Record<string, unknown> }).s3;
    b = await startBerth({ storage: { driver: 's3', s3, verifyReads: true } });
  });
  after(async () => {
    await b?.close();
    await storage?.cleanup();
  });

  async function overwrite(digest: string, body: Buffer): Promise<void> {
    const s3 = (storage.storage as { driver: 's3'; s3: { bucket: string; prefix: string } & Parameters<typeof createS3Client>[0] }).s3;
    const client = createS3Client(s3);
    try {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${s3.prefix}blobs/sha256/${digest.split(':')[1]}`, Body: body, ContentLength: body.length }));
    } finally {
      client.destroy();
    }
  }

  it('an object damaged in place: the GET is cut before its last byte, then 404, and a re-push repairs it', async () => {
    const data = randomBlob(2 * 1024 * 1024 + 5, 0.71);
    const digest = await pushBlob(b.url, 's3v/app', data);
    const damaged = Buffer.from(data);
    damaged[12345] = damaged[12345]! ^ 0xff;
    await overwrite(digest, damaged);
    const r = await rawGet(`${b.url}/v2/s3v/app/blobs/${digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.complete, false, 'the damaged body must not end cleanly');
    assert.ok(r.received < data.length, `received ${r.received} of ${data.length} bytes`);
    assert.equal((await fetch(`${b.url}/v2/s3v/app/blobs/${digest}`, { method: 'HEAD' })).status, 404);
    await pushBlob(b.url, 's3v/app', data);
    const got = await fetch(`${b.url}/v2/s3v/app/blobs/${digest}`);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
  });

  it('a shorter object reads as missing before the response starts, and a re-push repairs it', async () => {
    const data = randomBlob(300_000, 0.72);
    const digest = await pushBlob(b.url, 's3v/app', data);
    await overwrite(digest, data.subarray(0, 1000));
    assert.equal((await fetch(`${b.url}/v2/s3v/app/blobs/${digest}`, { method: 'HEAD' })).status, 404);
    const r = await fetch(`${b.url}/v2/s3v/app/blobs/${digest}`);
    assert.equal(r.status, 404);
    await r.arrayBuffer();
    await pushBlob(b.url, 's3v/app', data);
    const got = await fetch(`${b.url}/v2/s3v/app/blobs/${digest}`);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
  });
});
