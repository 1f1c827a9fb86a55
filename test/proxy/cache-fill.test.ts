/**
 * The cache fill's contract with the store, on a real filesystem store and the real blob writer
 * and flight (no server, no upstream: the upstream body is a generator):
 * - appends are not flushed; the one flush is the commit's, before the blob exists and before
 *   the row is written, so a crash anywhere before it leaves no blob and no row (only an upload
 *   file the stale-upload sweep removes);
 * - the flush failing (what a crash before it amounts to): the client never gets a complete
 *   body, nothing is stored, no row, and the staged bytes are removed (the next pull is a miss);
 * - a wrong byte is never released, and the blocks the hashing thread reads in place (40 MiB
 *   through a pool of 16 MiB, so every block is reused) hash to the right digest.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Digest } from '../../src/domain/names.js';
import { BlobFlight } from '../../src/proxy/blob-flight.js';
import { openBlobWriter } from '../../src/registry/blob-writer.js';
import { FsBlobStore, fsBlobPath, nodeFs, type FsOps } from '../../src/storage/fs/fs-blob-store.js';

const MiB = 1024 * 1024;
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

async function* upstreamBody(data: Buffer): AsyncIterable<Buffer> {
  // Socket-sized chunks, each a fresh buffer as a socket delivers them.
  for (let i = 0; i < data.length; i += 64 * 1024) yield Buffer.from(data.subarray(i, i + 64 * 1024));
}

/** File calls that log every fdatasync of an upload file, with whether the blob was placed by then; `failSync` makes them fail. */
function watchedFs(root: string, digest: Digest, log: string[], opts: { failSync?: boolean } = {}): FsOps {
  const datasync = async (flush: () => Promise<void>) => {
    log.push(`datasync (blob ${existsSync(fsBlobPath(root, digest)) ? 'placed' : 'absent'})`);
    if (opts.failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    return flush();
  };
  return {
    ...nodeFs,
    fdatasync: (fd) => datasync(() => nodeFs.fdatasync(fd)),
    open: async (path, flags) => {
      const fh = await open(path, flags);
      return new Proxy(fh, {
        get(target, prop, receiver) {
          if (prop === 'datasync') return () => datasync(() => target.datasync());
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as FileHandle;
    },
  };
}

async function fill(data: Buffer, digest: Digest, opts: { failSync?: boolean } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'berth-fill-'));
  const log: string[] = [];
  const store = await FsBlobStore.open(root, watchedFs(root, digest, log, opts));
  const writer = await openBlobWriter(store, digest, data.length, {
    stored: (n) => log.push(`stored ${n}`),
    // As the upload commit does: the bytes placed durably, then the row.
    commit: async (id, handle, size, options) => {
      await store.commitUpload(id, handle, size, digest, options);
      log.push('row');
    },
  });
  const readStored = (start: number, end: number) => store.read(digest, { start, end });
  const flight = new BlobFlight(data.length, upstreamBody(data), writer, 10_000, readStored);
  const sink = flight.attach()!;
  const client = (async () => {
    const parts: Buffer[] = [];
    for await (const c of sink) parts.push(c as Buffer);
    return Buffer.concat(parts);
  })();
  const [got, stored] = await Promise.allSettled([client, flight.done]);
  return { root, store, log, got, stored, cleanup: () => rm(root, { recursive: true, force: true }) };
}

test('appends are not flushed; the commit flushes once before the blob is placed, and the row comes last', async () => {
  const data = randomBytes(40 * MiB);
  const digest = digestOf(data);
  const r = await fill(data, digest);
  try {
    assert.equal(r.stored.status, 'fulfilled');
    assert.equal(r.got.status, 'fulfilled');
    assert.ok((r.got as PromiseFulfilledResult<Buffer>).value.equals(data));
    const syncs = r.log.filter((l) => l.startsWith('datasync'));
    assert.deepEqual(syncs, ['datasync (blob absent)'], 'one flush, before the blob exists');
    const firstSync = r.log.indexOf(syncs[0]!);
    assert.ok(r.log.slice(0, firstSync).every((l) => l.startsWith('stored')), 'every append came before the flush, none flushed');
    assert.equal(r.log.at(-1), 'row');
    assert.equal(await r.store.stat(digest), data.length);
    assert.deepEqual(await readdir(join(r.root, 'uploads')), []);
  } finally {
    await r.cleanup();
  }
});

test('the flush at the commit fails: the client never gets a complete body, nothing is stored, no row', async () => {
  const data = randomBytes(40 * MiB);
  const digest = digestOf(data);
  // As if the machine died between the writes and the flush: nothing after it may happen.
  const r = await fill(data, digest, { failSync: true });
  try {
    assert.equal(r.got.status, 'rejected', 'the last chunk waits for the commit');
    assert.equal(r.stored.status, 'rejected');
    assert.deepEqual(r.log.filter((l) => l.startsWith('datasync')), ['datasync (blob absent)']);
    assert.ok(!r.log.includes('row'), 'no row without durable bytes');
    assert.equal(await r.store.stat(digest), undefined);
    assert.deepEqual(await readdir(join(r.root, 'uploads')), [], 'the staged bytes are removed');
  } finally {
    await r.cleanup();
  }
});

test('wrong bytes from the upstream: the client stream fails before its last byte, nothing is flushed or stored', async () => {
  const data = randomBytes(40 * MiB);
  const digest = digestOf(data);
  const wrong = Buffer.from(data);
  wrong[20 * MiB] ^= 0xff;
  const r = await fill(wrong, digest);
  try {
    assert.equal(r.got.status, 'rejected', 'never a complete body');
    assert.equal(r.stored.status, 'rejected');
    assert.ok(!r.log.some((l) => l.startsWith('datasync') || l === 'row'));
    assert.equal(await r.store.stat(digest), undefined);
    assert.deepEqual(await readdir(join(r.root, 'uploads')), []);
  } finally {
    await r.cleanup();
  }
});

