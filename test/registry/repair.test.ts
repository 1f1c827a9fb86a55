/**
 * Repair by re-push: a blob whose stored file was truncated, deleted or damaged in place reads
 * as missing (HEAD and GET 404, a mount falls back to an upload), never as wrong bytes, and
 * pushing the right bytes again (monolithic or chunked) replaces the stored copy. A damaged
 * file of the right size is caught by `storage.verifyReads` while it streams: the connection
 * is cut before the last byte and the copy is removed, so the next HEAD says 404.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdir, rm, truncate, open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, pushBlob, randomBlob, sha256 } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth({ storage: { driver: 'filesystem', filesystem: {}, verifyReads: true } });
});
after(async () => b.close());

async function blobFile(digest: string): Promise<string> {
  const hex = digest.split(':')[1]!;
  const entries = await readdir(b.dataDir, { recursive: true, withFileTypes: true });
  const file = entries.find((e) => e.isFile() && e.name === hex && (e.parentPath ?? e.path).includes('blobs'));
  assert.ok(file, 'blob file not found');
  return join(file.parentPath ?? file.path, file.name);
}

async function status(repo: string, digest: string, method = 'HEAD'): Promise<number> {
  const r = await fetch(`${b.url}/v2/${repo}/blobs/${digest}`, { method });
  await r.arrayBuffer();
  return r.status;
}

async function get(repo: string, digest: string): Promise<Buffer> {
  const r = await fetch(`${b.url}/v2/${repo}/blobs/${digest}`);
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

/** POST, PATCH in two chunks, PUT: the chunked path of a re-push. */
async function pushChunked(repo: string, data: Buffer): Promise<number> {
  const start = await fetch(`${b.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  let loc = b.url + start.headers.get('location')!;
  const half = Math.floor(data.length / 2);
  const p = await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(0, half)), headers: { 'Content-Range': `0-${half - 1}` } });
  assert.equal(p.status, 202);
  loc = b.url + p.headers.get('location')!;
  const put = await fetch(`${loc}?digest=${sha256(data)}`, { method: 'PUT', body: bytes(data.subarray(half)) });
  await put.arrayBuffer();
  return put.status;
}

/** Bytes a raw GET delivered before the connection ended, and whether it ended cleanly. */
function rawGet(path: string): Promise<{ status: number; length: number; received: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(b.url + path, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => resolve({ status: res.statusCode!, length: Number(res.headers['content-length']), received, complete: true }));
        res.on('error', () => resolve({ status: res.statusCode!, length: Number(res.headers['content-length']), received, complete: false }));
        res.on('aborted', () => resolve({ status: res.statusCode!, length: Number(res.headers['content-length']), received, complete: false }));
      })
      .on('error', reject);
  });
}

describe('repair by re-push', () => {
  it('a truncated blob file: HEAD and GET 404, and a monolithic re-push replaces it', async () => {
    const data = randomBlob(700_000, 0.31);
    const digest = await pushBlob(b.url, 'repair/truncated', data);
    await truncate(await blobFile(digest), 1000);
    assert.equal(await status('repair/truncated', digest), 404);
    assert.equal(await status('repair/truncated', digest, 'GET'), 404);
    await pushBlob(b.url, 'repair/truncated', data);
    assert.equal(await status('repair/truncated', digest), 200);
    assert.ok((await get('repair/truncated', digest)).equals(data));
  });

  it('a deleted blob file: HEAD 404, a mount falls back to an upload, and a chunked re-push restores it', async () => {
    const data = randomBlob(300_000, 0.32);
    const digest = await pushBlob(b.url, 'repair/deleted', data);
    await rm(await blobFile(digest));
    assert.equal(await status('repair/deleted', digest), 404);
    const mount = await fetch(`${b.url}/v2/repair/other/blobs/uploads/?mount=${digest}&from=repair/deleted`, { method: 'POST' });
    assert.equal(mount.status, 202, 'a mount of a blob whose bytes are missing must start an upload');
    assert.equal(await pushChunked('repair/deleted', data), 201);
    assert.ok((await get('repair/deleted', digest)).equals(data));
    const again = await fetch(`${b.url}/v2/repair/other/blobs/uploads/?mount=${digest}&from=repair/deleted`, { method: 'POST' });
    assert.equal(again.status, 201);
  });

  it('a blob damaged in place: the GET is cut before its last byte, then it reads as missing and a re-push repairs it', async () => {
    const data = randomBlob(3 * 1024 * 1024 + 17, 0.33);
    const digest = await pushBlob(b.url, 'repair/damaged', data);
    const fh = await open(await blobFile(digest), 'r+');
    await fh.write(Buffer.from([data[1_000_000]! ^ 0xff]), 0, 1, 1_000_000);
    await fh.close();
    const r = await rawGet(`/v2/repair/damaged/blobs/${digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.length, data.length);
    assert.equal(r.complete, false, 'the damaged body must not end cleanly');
    assert.ok(r.received < data.length, `received ${r.received} of ${data.length} bytes`);
    assert.equal(await status('repair/damaged', digest), 404);
    await pushBlob(b.url, 'repair/damaged', data);
    assert.ok((await get('repair/damaged', digest)).equals(data));
    // Ranged reads are not verified (a part cannot be hashed against the digest) but still served.
    const ranged = await fetch(`${b.url}/v2/repair/damaged/blobs/${digest}`, { headers: { Range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20)));
  });
});
