/**
 * Blob GET through the filesystem store's copy fast path (the response is written by the
 * route, not by Fastify): every header Fastify would have sent, whole and ranged bodies that
 * cross the copier's buffers, HEAD without a body, an empty blob, and a client that goes away
 * mid-blob: the server closes the blob file and keeps serving; a blob file shorter than its
 * recorded size is found before the response starts (404, never a short body under a full
 * Content-Length).
 */
import assert from 'node:assert/strict';
import { readdir, readlink, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { pushBlob, randomBlob } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth({ storage: { driver: 'filesystem' } });
});
after(async () => b.close());

/** Open file descriptors of this process (the server runs in it) on the blob's file. */
async function openBlobFiles(digest: string): Promise<number> {
  const hex = digest.split(':')[1]!;
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.endsWith(hex)) n++;
  }
  return n;
}

describe('blob pull fast path', () => {
  it('whole and ranged bodies, with every header, and HEAD', async () => {
    const data = randomBlob(3 * 1024 * 1024 + 12_345, 0.7);
    const digest = await pushBlob(b.url, 'fast/blob', data);
    const get = await fetch(`${b.url}/v2/fast/blob/blobs/${digest}`, { headers: { 'x-request-id': 'pull-1' } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-length'), String(data.length));
    assert.equal(get.headers.get('docker-content-digest'), digest);
    assert.equal(get.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(get.headers.get('x-request-id'), 'pull-1');
    assert.equal(get.headers.get('accept-ranges'), 'bytes');
    assert.equal(get.headers.get('content-type'), 'application/octet-stream');
    assert.ok(Buffer.from(await get.arrayBuffer()).equals(data));

    const start = 262_000;
    const end = 2_000_000;
    const part = await fetch(`${b.url}/v2/fast/blob/blobs/${digest}`, { headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(start, end + 1)));

    const head = await fetch(`${b.url}/v2/fast/blob/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    assert.equal(await openBlobFiles(digest), 0);
  });

  it('an empty blob', async () => {
    const digest = await pushBlob(b.url, 'fast/empty', Buffer.alloc(0));
    const r = await fetch(`${b.url}/v2/fast/empty/blobs/${digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), '0');
    assert.equal((await r.arrayBuffer()).byteLength, 0);
  });

  it('a client that goes away mid-blob: the file is closed and the server keeps serving', async () => {
    const data = randomBlob(48 * 1024 * 1024, 0.9);
    const digest = await pushBlob(b.url, 'fast/big', data);
    const agent = new http.Agent({ keepAlive: false });
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${b.url}/v2/fast/big/blobs/${digest}`, { agent }, (res) => {
        assert.equal(res.statusCode, 200);
        res.once('data', () => {
          // Stop reading, so the server is mid-blob (socket full), then go away.
          res.pause();
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 100);
        });
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(e)));
    });
    let open = await openBlobFiles(digest);
    for (let i = 0; i < 50 && open > 0; i++) {
      await sleep(50);
      open = await openBlobFiles(digest);
    }
    assert.equal(open, 0, 'the blob file is still open after the client left');
    const again = await fetch(`${b.url}/v2/fast/big/blobs/${digest}`, { headers: { Range: 'bytes=0-99' } });
    assert.equal(again.status, 206);
    assert.ok(Buffer.from(await again.arrayBuffer()).equals(data.subarray(0, 100)));
    agent.destroy();
  });

  it('a blob file shorter than its recorded size: 404 before the response starts, for GET and HEAD', async () => {
    const data = randomBlob(2 * 1024 * 1024, 0.4);
    const digest = await pushBlob(b.url, 'fast/short', data);
    const hex = digest.split(':')[1]!;
    const entries = await readdir(b.dataDir, { recursive: true, withFileTypes: true });
    const file = entries.find((e) => e.isFile() && e.name === hex);
    assert.ok(file, 'blob file not found');
    await truncate(join(file.parentPath ?? file.path, file.name), 1024 * 1024);
    const r = await fetch(`${b.url}/v2/fast/short/blobs/${digest}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code, 'BLOB_UNKNOWN');
    assert.equal((await fetch(`${b.url}/v2/fast/short/blobs/${digest}`, { method: 'HEAD' })).status, 404);
  });
});
