/**
 * The BlobStore contract suite: every implementation runs these same tests unchanged
 * (test/storage/fs.test.ts, test/storage/s3.test.ts). Optional behaviour is read from the
 * store's capabilities, never from a skip list. Every test ends by checking that it left the
 * store empty: no blob, no upload and nothing else in the backing storage.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, StorageFullError } from '../../src/errors/store.js';
import type { Digest } from '../../src/domain/names.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import type { WriteFaults } from '../helpers/faults.js';
import { randomBlob } from '../helpers/oci.js';

export interface BlobStoreFixture {
  store: BlobStore;
  /** Another store over the same storage (as another node would open it). */
  openPeer(): Promise<BlobStore>;
  /**
   * Upload writes are exercised across this many bytes (the S3 part size), so chunked writes
   * cross the store's internal boundaries.
   */
  partSize: number;
  /** Everything left in the backing storage (files, objects, multipart uploads). */
  leftovers(): Promise<string[]>;
  /**
   * Another store over the same storage whose writes hit `faults` (test/helpers/faults.ts):
   * short writes where the storage has them, and a full-storage error once the budget is spent.
   */
  openFaulty(faults: WriteFaults): Promise<BlobStore>;
  close(): Promise<void>;
}

export interface BlobStoreSuiteOptions {
  /** Why the suite cannot run here (outside CI only; the fixture throws under CI=true). */
  skip?: string | undefined;
}

function digestOf(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
}

async function* chunks(data: Buffer, sizes: number[] = [data.length]): AsyncIterable<Buffer> {
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

async function readAll(stream: Readable | Promise<Readable>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/**
 * A slow destination that takes a copy of each chunk only when it accepts it (calls back), as
 * a socket does: a writer that reused a buffer before that would show up as wrong bytes.
 * `failAfter`: destroys itself once it accepted that many bytes (a client going away).
 */
function slowSink(failAfter = Infinity): Writable & { bytes(): Buffer } {
  const parts: Buffer[] = [];
  let taken = 0;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      setTimeout(() => {
        parts.push(Buffer.from(chunk));
        taken += chunk.length;
        cb();
        if (taken >= failAfter) sink.destroy();
      }, 1);
    },
  });
  return Object.assign(sink, { bytes: () => Buffer.concat(parts) });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function blobStoreSuite(name: string, open: () => Promise<BlobStoreFixture>, options: BlobStoreSuiteOptions = {}): void {
  describe(`BlobStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let fx: BlobStoreFixture;
    let store: BlobStore;
    let P: number;

    before(async () => {
      fx = await open();
      store = fx.store;
      P = fx.partSize;
    });
    after(async () => {
      await fx?.close();
    });

    /** A test that must leave the store as empty as it found it. */
    function test(title: string, fn: () => Promise<void>): void {
      it(title, async () => {
        await fn();
        assert.deepEqual(await collect(store.list()), [], 'blobs left behind');
        assert.deepEqual(await collect(store.listUploads()), [], 'uploads left behind');
        assert.deepEqual(await fx.leftovers(), [], 'storage not empty');
      });
    }

    /** Writes `data` as one upload in the given writeUpload calls, returning the final handle. */
    async function upload(id: string, data: Buffer, writes: number[], chunkSizes?: number[]): Promise<string> {
      let handle = await store.createUpload(id);
      let offset = 0;
      for (let i = 0; offset < data.length; i++) {
        const n = Math.min(writes[i % writes.length]!, data.length - offset);
        const r = await store.writeUpload(id, handle, offset, chunks(data.subarray(offset, offset + n), chunkSizes));
        assert.equal(r.written, n);
        handle = r.handle;
        offset += n;
      }
      return handle;
    }

    test('commit, stat, read, ranged read and delete a blob', async () => {
      const data = randomBlob(100_000, 0.1);
      const digest = digestOf(data);
      assert.equal(await store.stat(digest), undefined);
      await assert.rejects(store.read(digest), NotFoundError);
      const id = randomUUID();
      const handle = await upload(id, data, [data.length]);
      await store.commitUpload(id, handle, data.length, digest);
      assert.equal(await store.stat(digest), data.length);
      assert.ok((await readAll(store.read(digest))).equals(data));
      assert.ok((await readAll(store.read(digest, { start: 1000, end: 1999 }))).equals(data.subarray(1000, 2000)));
      assert.ok((await readAll(store.read(digest, { start: data.length - 1, end: data.length - 1 }))).equals(data.subarray(-1)));
      assert.deepEqual(await collect(store.list()), [{ digest, size: data.length }]);
      await store.delete(digest);
      await store.delete(digest); // absent is not an error
      assert.equal(await store.stat(digest), undefined);
      await assert.rejects(store.read(digest), NotFoundError);
    });

    test('an empty blob', async () => {
      const data = Buffer.alloc(0);
      const digest = digestOf(data);
      const id = randomUUID();
      const handle = await store.createUpload(id);
      await store.commitUpload(id, handle, 0, digest);
      assert.equal(await store.stat(digest), 0);
      assert.equal((await readAll(store.read(digest))).length, 0);
      await store.delete(digest);
    });

    test('many small writes and odd chunk sizes crossing part boundaries', async () => {
      const data = randomBlob(2 * P + 12_345, 0.2);
      const digest = digestOf(data);
      const id = randomUUID();
      // Writes of odd sizes (some far below a part, some spanning two), each made of odd chunks.
      const handle = await upload(id, data, [1, 777_777, 65_537, P - 3, 4, P + 99_999, 300_001], [1, 8191, 65_536, 100_003]);
      assert.ok((await readAll(store.readUpload(id, handle, data.length))).equals(data));
      await store.commitUpload(id, handle, data.length, digest);
      assert.equal(await store.stat(digest), data.length);
      assert.ok((await readAll(store.read(digest))).equals(data));
      const mid = { start: P - 10, end: 2 * P + 10 };
      assert.ok((await readAll(store.read(digest, mid))).equals(data.subarray(mid.start, mid.end + 1)));
      assert.deepEqual(await collect(store.listUploads()), []);
      await store.delete(digest);
    });

    test('a write at an earlier offset replaces the bytes past it', async () => {
      const first = randomBlob(P + P / 2, 0.3);
      const id = randomUUID();
      const h1 = await upload(id, first, [first.length]);
      // Rewind into the middle of the first part, then into the tail.
      const second = randomBlob(P, 0.4);
      const at = Math.floor(P * 0.7);
      const r2 = await store.writeUpload(id, h1, at, chunks(second, [100_000]));
      assert.equal(r2.written, second.length);
      const expected2 = Buffer.concat([first.subarray(0, at), second]);
      assert.ok((await readAll(store.readUpload(id, r2.handle, expected2.length))).equals(expected2));
      const third = randomBlob(1000, 0.5);
      const at3 = expected2.length - 500;
      const r3 = await store.writeUpload(id, r2.handle, at3, chunks(third));
      const expected3 = Buffer.concat([expected2.subarray(0, at3), third]);
      assert.ok((await readAll(store.readUpload(id, r3.handle, expected3.length))).equals(expected3));
      // A write whose handle was never persisted (the request was rejected, e.g. a wrong digest)
      // is replaced by the next write at the same offset with the persisted handle.
      await store.writeUpload(id, r3.handle, expected3.length, chunks(randomBlob(P, 0.55), [P / 4]));
      const fourth = randomBlob(2000, 0.56);
      const r4 = await store.writeUpload(id, r3.handle, expected3.length, chunks(fourth));
      const expected4 = Buffer.concat([expected3, fourth]);
      assert.ok((await readAll(store.readUpload(id, r4.handle, expected4.length))).equals(expected4));
      await store.commitUpload(id, r4.handle, expected4.length, digestOf(expected4));
      assert.ok((await readAll(store.read(digestOf(expected4)))).equals(expected4));
      await store.delete(digestOf(expected4));
    });

    test('readUpload streams a prefix, and a commit can take a prefix', async () => {
      const data = randomBlob(P + 5000, 0.6);
      const id = randomUUID();
      const handle = await upload(id, data, [P - 1, 2, 4999]);
      assert.equal((await readAll(store.readUpload(id, handle, 0))).length, 0);
      for (const n of [1, 4096, P - 1, P, P + 1, data.length]) {
        assert.ok((await readAll(store.readUpload(id, handle, n))).equals(data.subarray(0, n)), `prefix of ${n} bytes`);
      }
      const size = P + 17;
      const digest = digestOf(data.subarray(0, size));
      await store.commitUpload(id, handle, size, digest);
      assert.ok((await readAll(store.read(digest))).equals(data.subarray(0, size)));
      await store.delete(digest);
    });

    test('writes without a flush are readable at once and committed whole (the commit makes them durable)', async () => {
      const data = randomBlob(P + 3000, 0.65);
      const digest = digestOf(data);
      const id = randomUUID();
      let handle = await store.createUpload(id);
      let offset = 0;
      for (const n of [P - 100, 100, 3000]) {
        const r = await store.writeUpload(id, handle, offset, chunks(data.subarray(offset, offset + n)), undefined, { flush: false });
        assert.equal(r.written, n);
        handle = r.handle;
        offset += n;
        assert.ok((await readAll(store.readUpload(id, handle, offset))).equals(data.subarray(0, offset)), `the ${offset} bytes written so far read back`);
      }
      assert.equal(await store.commitUpload(id, handle, data.length, digest, { unflushed: true }), true);
      assert.ok((await readAll(store.read(digest))).equals(data));
      await store.delete(digest);
    });

    test('committing a digest that already exists just removes the upload', async () => {
      const data = randomBlob(50_000, 0.7);
      const digest = digestOf(data);
      const a = randomUUID();
      await store.commitUpload(a, await upload(a, data, [data.length]), data.length, digest);
      const b = randomUUID();
      const hb = await upload(b, data, [20_000]);
      assert.deepEqual((await collect(store.listUploads())).map((u) => u.id), [b]);
      await store.commitUpload(b, hb, data.length, digest);
      assert.deepEqual(await collect(store.listUploads()), []);
      assert.ok((await readAll(store.read(digest))).equals(data));
      await store.delete(digest);
    });

    test('writes the storage takes in short pieces keep every byte', async () => {
      const faulty = await fx.openFaulty({ maxWriteBytes: 1009 });
      try {
        const data = randomBlob(P + 123_457, 0.21);
        const digest = digestOf(data);
        const id = randomUUID();
        const cut = 300_001;
        const h0 = await faulty.createUpload(id);
        const r1 = await faulty.writeUpload(id, h0, 0, chunks(data.subarray(0, cut), [65_536, 1, 4099]));
        const r2 = await faulty.writeUpload(id, r1.handle, cut, chunks(data.subarray(cut), [1024 * 1024]));
        assert.equal(r1.written + r2.written, data.length);
        assert.ok((await readAll(store.readUpload(id, r2.handle, data.length))).equals(data), 'stored bytes differ from the written ones');
        await faulty.commitUpload(id, r2.handle, data.length, digest);
        assert.ok((await readAll(store.read(digest))).equals(data));
        await store.delete(digest);
      } finally {
        await faulty.close();
      }
    });

    test('a small first write the storage takes in short pieces keeps every byte; one that cannot fit fails as full and the upload starts again', async () => {
      // A whole body under the stores' small-write size (the filesystem store writes it on the event loop).
      const data = randomBlob(100_000, 0.24);
      const digest = digestOf(data);
      const id = randomUUID();
      const full = await fx.openFaulty({ freeBytes: 50_000 });
      const short = await fx.openFaulty({ maxWriteBytes: 1009 });
      try {
        const h0 = await full.createUpload(id);
        await assert.rejects(full.writeUpload(id, h0, 0, chunks(data, [4099, 1])), StorageFullError);
        const r = await short.writeUpload(id, h0, 0, chunks(data, [4099, 1]));
        assert.equal(r.written, data.length);
        assert.ok((await readAll(store.readUpload(id, r.handle, data.length))).equals(data), 'stored bytes differ from the written ones');
        await short.commitUpload(id, r.handle, data.length, digest);
        assert.ok((await readAll(store.read(digest))).equals(data));
        await store.delete(digest);
      } finally {
        await full.close();
        await short.close();
        await store.deleteUpload(id, '').catch(() => {});
      }
    });

    test('a write that fills the storage fails, keeps exactly the bytes before it, and the upload continues', async () => {
      const data = randomBlob(2 * P + 5000, 0.22);
      const digest = digestOf(data);
      const first = P + 1000; // past a part boundary, so the next write re-stages its start
      const faulty = await fx.openFaulty({ freeBytes: first + 3000, maxWriteBytes: 256 * 1024 });
      const id = randomUUID();
      try {
        const r1 = await faulty.writeUpload(id, await faulty.createUpload(id), 0, chunks(data.subarray(0, first), [65_536]));
        await assert.rejects(faulty.writeUpload(id, r1.handle, first, chunks(data.subarray(first), [65_536])), StorageFullError);
        // The last durable offset holds exactly the first write: nothing lost, nothing padded.
        assert.ok((await readAll(store.readUpload(id, r1.handle, first))).equals(data.subarray(0, first)));
        // Committing more than the upload durably holds is refused, and creates no blob.
        await assert.rejects(store.commitUpload(id, r1.handle, data.length, digest), NotFoundError);
        assert.equal(await store.stat(digest), undefined);
        // With space again the upload continues from its last durable offset.
        const r2 = await store.writeUpload(id, r1.handle, first, chunks(data.subarray(first), [65_536]));
        await store.commitUpload(id, r2.handle, data.length, digest);
        assert.ok((await readAll(store.read(digest))).equals(data));
        await store.delete(digest);
      } finally {
        await faulty.close();
        await store.deleteUpload(id, '').catch(() => {});
      }
    });

    test('a commit replaces a stored copy of the wrong size, keeps an intact one, and never pads', async () => {
      const data = randomBlob(80_000, 0.23);
      const digest = digestOf(data);
      // A damaged copy: the first half of the bytes under the digest (stores do not hash).
      const a = randomUUID();
      await store.commitUpload(a, await upload(a, data.subarray(0, 40_000), [40_000]), 40_000, digest);
      assert.equal(await store.stat(digest), 40_000);
      // An upload holding fewer bytes than the commit asks for is refused and changes nothing.
      const b = randomUUID();
      const hb = await upload(b, data.subarray(0, 1000), [1000]);
      await assert.rejects(store.commitUpload(b, hb, data.length, digest), NotFoundError);
      assert.equal(await store.stat(digest), 40_000);
      await store.deleteUpload(b, hb);
      // The whole bytes again: the commit replaces the damaged copy.
      const c = randomUUID();
      assert.equal(await store.commitUpload(c, await upload(c, data, [30_000]), data.length, digest), true);
      assert.ok((await readAll(store.read(digest))).equals(data));
      // An intact copy stays, and the upload is removed.
      const d = randomUUID();
      assert.equal(await store.commitUpload(d, await upload(d, data, [data.length]), data.length, digest), false);
      assert.ok((await readAll(store.read(digest))).equals(data));
      await store.delete(digest);
    });

    test('list walks every blob (more than one page)', async () => {
      const blobs = Array.from({ length: 7 }, (_, i) => randomBlob(100 + i, 0.8 + i / 100));
      for (const data of blobs) {
        const id = randomUUID();
        await store.commitUpload(id, await upload(id, data, [data.length]), data.length, digestOf(data));
      }
      const listed = (await collect(store.list())).sort((x, y) => x.digest.localeCompare(y.digest));
      const expected = blobs.map((d) => ({ digest: digestOf(d), size: d.length })).sort((x, y) => x.digest.localeCompare(y.digest));
      assert.deepEqual(listed, expected);
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(collect(store.list(ac.signal)));
      for (const d of blobs) await store.delete(digestOf(d));
    });

    test('listUploads and deleteUpload', async () => {
      const started = Date.now() - 60_000;
      const a = randomUUID();
      const b = randomUUID();
      const ha = await upload(a, randomBlob(P + 10, 0.9), [P + 10]);
      // An upload is listed once it holds bytes (a store may make nothing before the first write).
      await store.writeUpload(b, await store.createUpload(b), 0, chunks(Buffer.from('b')));
      const listed = (await collect(store.listUploads())).sort((x, y) => x.id.localeCompare(y.id));
      assert.deepEqual(listed.map((u) => u.id), [a, b].sort());
      for (const u of listed) assert.ok(u.modifiedAt instanceof Date && u.modifiedAt.getTime() > started, `modifiedAt of ${u.id}`);
      await store.deleteUpload(a, ha);
      await store.deleteUpload(a, ha); // absent is not an error
      await assert.rejects(store.writeUpload(a, ha, P + 10, chunks(Buffer.from('x'))), NotFoundError);
      assert.deepEqual((await collect(store.listUploads())).map((u) => u.id), [b]);
      await store.deleteUpload(b, '');
    });

    test('another node continues and finishes an upload from its handle', async () => {
      const peer = await fx.openPeer();
      try {
        const data = randomBlob(P + 300_000, 0.11);
        const id = randomUUID();
        let handle = await store.createUpload(id);
        const cut = [0, 200_000, P + 1, data.length];
        const nodes = [store, peer, store];
        for (let i = 0; i < 3; i++) {
          const r = await nodes[i]!.writeUpload(id, handle, cut[i]!, chunks(data.subarray(cut[i]!, cut[i + 1]!), [65_536]));
          handle = r.handle;
        }
        assert.ok((await readAll(peer.readUpload(id, handle, data.length))).equals(data));
        await peer.commitUpload(id, handle, data.length, digestOf(data));
        assert.ok((await readAll(store.read(digestOf(data)))).equals(data));
        await store.delete(digestOf(data));
      } finally {
        await peer.close();
      }
    });

    test('ranged reads, and openCopy where the store offers it, serve exactly the blob\'s bytes', async () => {
      assert.equal(typeof store.openCopy === 'function', store.capabilities.copy, 'openCopy is offered exactly when capabilities.copy says so');
      const data = randomBlob(3_500_000, 0.3); // more than a copier's buffers hold, so they are reused
      const digest = digestOf(data);
      const ranges = [undefined, { start: 0, end: 0 }, { start: 1000, end: 3_499_999 }, { start: 262_143, end: 800_001 }];
      await assert.rejects(store.read(digest), NotFoundError);
      if (store.openCopy) await assert.rejects(store.openCopy(digest), NotFoundError);
      const id = randomUUID();
      await store.commitUpload(id, await upload(id, data, [data.length]), data.length, digest);
      for (const range of ranges) {
        const expected = range ? data.subarray(range.start, range.end + 1) : data;
        // What every store serves with: read(), into a destination as slow as a socket.
        const viaRead = slowSink();
        await pipeline(await store.read(digest, range), viaRead);
        assert.ok(viaRead.bytes().equals(expected), `read() bytes of range ${JSON.stringify(range)}`);
        if (!store.openCopy) continue;
        const viaCopy = slowSink();
        await (await store.openCopy(digest, range)).writeTo(viaCopy);
        await new Promise<void>((resolve) => viaCopy.end(resolve));
        assert.ok(viaCopy.bytes().equals(expected), `openCopy bytes of range ${JSON.stringify(range)}`);
      }
      // A destination that goes away mid-blob: rejected as a premature close, not a hang.
      const premature = (e: { code?: string }) => e.code === 'ERR_STREAM_PREMATURE_CLOSE';
      await assert.rejects(pipeline(await store.read(digest), slowSink(600_000)), premature);
      if (store.openCopy) await assert.rejects((await store.openCopy(digest)).writeTo(slowSink(600_000)), premature);
      // Opened and never read: destroying the stream (closing the copy) releases the blob, so it can be deleted.
      (await store.read(digest)).destroy();
      if (store.openCopy) await (await store.openCopy(digest)).close();
      await store.delete(digest);
      await assert.rejects(store.read(digest, { start: 0, end: 0 }), NotFoundError);
    });

    test('redirect URLs serve the blob to a plain HTTP client when the store offers them', async () => {
      const data = randomBlob(70_000, 0.12);
      const digest = digestOf(data);
      const id = randomUUID();
      await store.commitUpload(id, await upload(id, data, [data.length]), data.length, digest);
      const url = await store.redirectUrl(digest, 120);
      if (store.capabilities.redirect) {
        assert.ok(url, 'redirect capability without a URL');
        const r = await fetch(url);
        assert.equal(r.status, 200);
        assert.ok(Buffer.from(await r.arrayBuffer()).equals(data));
        const ranged = await fetch(url, { headers: { Range: 'bytes=10-19' } });
        assert.equal(ranged.status, 206);
        assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20)));
        const tampered = new URL(url);
        tampered.searchParams.set('X-Amz-Expires', '999999');
        assert.equal((await fetch(tampered)).status, 403, 'a tampered URL must be refused');
      } else {
        assert.equal(url, undefined);
      }
      await store.delete(digest);
    });
  });
}
