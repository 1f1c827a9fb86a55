/**
 * A disk that fills during a push never leads to an acknowledged blob served with other bytes.
 * The blob store sits on a small tmpfs mounted by the test (as root; CI runs as root), with
 * the SQLite metadata on another disk (as with PostgreSQL) and on the same disk. A filler file
 * leaves 2.5 MiB free, then 3 MiB blobs are pushed monolithically, in chunks and streamed
 * (chunked transfer encoding): each must fail with a clear full-storage error (507), leave no
 * blob that reads with wrong bytes, keep a chunked session at its last durable offset, allow
 * cancelling while the disk is full, and succeed once space is freed. After every step, every
 * blob the registry acknowledged is read back and compared byte for byte.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, randomBlob, sha256 } from '../helpers/oci.js';
import { mountTmpfs, tmpfsSkipReason, type Tmpfs } from '../helpers/tmpfs.js';

const MiB = 1024 * 1024;
const skip = tmpfsSkipReason();

interface Failure {
  status: number;
  body: string;
}

function layoutSuite(name: string, metadataOnSameDisk: boolean): void {
  describe(`disk full: ${name}`, { skip, timeout: 120_000 }, () => {
    let fs: Tmpfs;
    let b: TestBerth;
    let elsewhere: string;
    const acknowledged = new Map<string, Buffer>();

    before(async () => {
      fs = await mountTmpfs('16m');
      elsewhere = await mkdtemp(join(tmpdir(), 'berth-diskfull-'));
      b = metadataOnSameDisk
        ? await startBerth({ dataDir: fs.dir, storage: { driver: 'filesystem', filesystem: {} }, jobs: { enabled: false, concurrency: 1, pollMs: 1000, leaseSeconds: 60 } })
        : await startBerth({ dataDir: elsewhere, storage: { driver: 'filesystem', filesystem: { root: join(fs.dir, 'storage') } }, jobs: { enabled: false, concurrency: 1, pollMs: 1000, leaseSeconds: 60 } });
    });
    after(async () => {
      await b?.close();
      await fs?.unmount();
      await rm(elsewhere, { recursive: true, force: true });
    });

    const repo = 'full/app';

    /** Every acknowledged blob reads back with exactly its bytes. */
    async function checkAcknowledged(): Promise<void> {
      for (const [digest, data] of acknowledged) {
        const r = await fetch(`${b.url}/v2/${repo}/blobs/${digest}`);
        assert.equal(r.status, 200, `acknowledged blob ${digest} is not served`);
        assert.ok(Buffer.from(await r.arrayBuffer()).equals(data), `acknowledged blob ${digest} is served with other bytes`);
      }
    }

    /** The blob is either absent (404) or served with exactly `data`. */
    async function neverWrong(data: Buffer): Promise<void> {
      const r = await fetch(`${b.url}/v2/${repo}/blobs/${sha256(data)}`);
      const body = Buffer.from(await r.arrayBuffer());
      if (r.status === 200) assert.ok(body.equals(data), 'a blob is served with other bytes than were pushed');
      else assert.equal(r.status, 404);
    }

    function assertFull(f: Failure, what: string): void {
      assert.equal(f.status, 507, `${what}: expected 507 Insufficient Storage, got ${f.status} ${f.body}`);
      const e = (JSON.parse(f.body) as { errors: { code: string; message: string }[] }).errors[0]!;
      assert.equal(e.code, 'INSUFFICIENT_STORAGE');
      assert.match(e.message, /storage is full/);
    }

    async function monolithic(data: Buffer): Promise<Failure> {
      const r = await fetch(`${b.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: bytes(data) });
      const body = await r.text();
      if (r.status === 201) acknowledged.set(sha256(data), data);
      return { status: r.status, body };
    }

    async function startUpload(): Promise<string> {
      const r = await fetch(`${b.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
      assert.equal(r.status, 202, await r.text());
      return b.url + r.headers.get('location')!;
    }

    async function patch(loc: string, data: Buffer, start: number): Promise<Failure & { location?: string }> {
      // A copy: fetch would send the whole underlying buffer of a subarray.
      const r = await fetch(loc, { method: 'PATCH', body: bytes(Buffer.from(data)), headers: { 'Content-Range': `${start}-${start + data.length - 1}` } });
      return { status: r.status, body: await r.text(), ...(r.headers.get('location') ? { location: b.url + r.headers.get('location')! } : {}) };
    }

    /** A PATCH without length (chunked transfer encoding), as streamed uploads send it. */
    function streamPatch(loc: string, data: Buffer): Promise<Failure> {
      return new Promise((resolve, reject) => {
        const req = http.request(loc, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        Readable.from((function* () {
          for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
        })()).pipe(req);
      });
    }

    async function offset(loc: string): Promise<number> {
      const r = await fetch(loc);
      assert.equal(r.status, 204);
      // `0-0` is what the spec sends for an empty upload (no test here stops at one byte).
      const end = Number(r.headers.get('range')!.split('-')[1]);
      return end === 0 ? 0 : end + 1;
    }

    it('a blob pushed before the disk filled is acknowledged', async () => {
      const small = randomBlob(100_000, 0.41);
      assert.equal((await monolithic(small)).status, 201);
      await checkAcknowledged();
    });

    it('monolithic: a push that cannot fit fails with 507 and is never served with other bytes; it succeeds once space is freed', async () => {
      const data = randomBlob(3 * MiB, 0.42);
      const filler = await fs.leaveFree(2.5 * MiB);
      const failed = await monolithic(data);
      // Checked first, so that an acknowledged push shows as the corruption it would be.
      await neverWrong(data);
      await checkAcknowledged();
      assertFull(failed, 'monolithic push');
      assert.equal((await fetch(`${b.url}/v2/${repo}/blobs/${sha256(data)}`, { method: 'HEAD' })).status, 404);
      await checkAcknowledged();
      await filler.release();
      assert.equal((await monolithic(data)).status, 201);
      await checkAcknowledged();
    });

    it('chunked: the chunk that cannot fit fails with 507, the session stays at its last durable offset and continues once space is freed', async () => {
      const data = randomBlob(3 * MiB, 0.43);
      const digest = sha256(data);
      const filler = await fs.leaveFree(2.5 * MiB);
      const loc = await startUpload();
      const first = await patch(loc, data.subarray(0, MiB), 0);
      assert.equal(first.status, 202, first.body);
      assertFull(await patch(first.location!, data.subarray(MiB), MiB), 'second chunk');
      assert.equal(await offset(loc), MiB, 'the session must stay at its last durable offset');
      const put = await fetch(`${loc}?digest=${digest}`, { method: 'PUT' });
      assert.notEqual(put.status, 201, 'a finish without the missing bytes must not be acknowledged');
      await neverWrong(data);
      await filler.release();
      const rest = await patch(loc, data.subarray(MiB), MiB);
      assert.equal(rest.status, 202, rest.body);
      const done = await fetch(`${rest.location!}?digest=${digest}`, { method: 'PUT' });
      assert.equal(done.status, 201, await done.text());
      acknowledged.set(digest, data);
      await checkAcknowledged();
    });

    it('streamed: a PATCH without length that cannot fit fails with 507; the session can be cancelled while the disk is full', async () => {
      const data = randomBlob(3 * MiB, 0.44);
      const filler = await fs.leaveFree(2.5 * MiB);
      const loc = await startUpload().catch(async (e: unknown) => {
        await filler.release();
        throw e;
      });
      assertFull(await streamPatch(loc, data), 'streamed PATCH');
      assert.equal(await offset(loc), 0);
      await neverWrong(data);
      // Cancel while the disk is still full: the bytes go first, then the row.
      const cancel = await fetch(loc, { method: 'DELETE' });
      assert.equal(cancel.status, 204, await cancel.text());
      assert.equal((await fetch(loc)).status, 404);
      await checkAcknowledged();
      await filler.release();
    });
  });
}

layoutSuite('blob store on a small disk, metadata on another (as with PostgreSQL)', false);
layoutSuite('blob store and SQLite metadata on the same small disk', true);
