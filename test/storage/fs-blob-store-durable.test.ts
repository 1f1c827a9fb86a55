/**
 * The filesystem blob store's write and commit paths touched for speed: a large upload
 * written with background fdatasyncs comes back byte for byte; a commit creates the blob's
 * folders, moves the upload into place, removes the upload, and shortens a longer file.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Digest } from '../../src/domain/names.js';
import { FsBlobStore, nodeFs } from '../../src/storage/fs/fs-blob-store.js';

async function* chunks(data: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

async function readAll(store: FsBlobStore, digest: Digest): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await store.read(digest)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('a 40 MiB upload written in socket-sized chunks commits byte for byte', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-'));
  try {
    const store = await FsBlobStore.open(root);
    const data = randomBytes(40 * 1024 * 1024);
    const handle = await store.createUpload('u1');
    const first = await store.writeUpload('u1', handle, 0, chunks(data.subarray(0, 24 * 1024 * 1024), 64 * 1024));
    const second = await store.writeUpload('u1', first.handle, first.written, chunks(data.subarray(24 * 1024 * 1024), 64 * 1024));
    assert.equal(first.written + second.written, data.length);
    const digest = digestOf(data);
    await store.commitUpload('u1', second.handle, data.length, digest);
    assert.equal(await store.stat(digest), data.length);
    assert.ok((await readAll(store, digest)).equals(data));
    assert.deepEqual(await readdir(join(root, 'uploads')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a commit of fewer bytes than were written keeps only those bytes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-'));
  try {
    const store = await FsBlobStore.open(root);
    const data = randomBytes(5000);
    const handle = await store.createUpload('u2');
    await store.writeUpload('u2', handle, 0, chunks(data, 1000));
    const kept = data.subarray(0, 3000);
    await store.commitUpload('u2', handle, kept.length, digestOf(kept));
    assert.ok((await readAll(store, digestOf(kept))).equals(kept));
    // A second commit of the same content just removes its upload.
    const h3 = await store.createUpload('u3');
    await store.writeUpload('u3', h3, 0, chunks(kept, 512));
    await store.commitUpload('u3', h3, kept.length, digestOf(kept));
    assert.deepEqual(await readdir(join(root, 'uploads')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** `n` small blobs whose digests share their first two hex digits (so one blob folder). */
function sameFolderBlobs(n: number): Buffer[] {
  const byPrefix = new Map<string, Buffer[]>();
  for (;;) {
    const b = randomBytes(64);
    const prefix = digestOf(b).slice(7, 9);
    const list = byPrefix.get(prefix) ?? [];
    list.push(b);
    byPrefix.set(prefix, list);
    if (list.length === n) return list;
  }
}

test('commits into one folder at once all land; a blob folder removed from outside is made again', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-'));
  try {
    const store = await FsBlobStore.open(root);
    const blobs = sameFolderBlobs(9);
    const commit = async (data: Buffer, id: string) => {
      const handle = await store.createUpload(id);
      await store.writeUpload(id, handle, 0, chunks(data, 16));
      await store.commitUpload(id, handle, data.length, digestOf(data));
    };
    // Eight at once: they share the folder's fsyncs (sync-group.ts); each must be in place.
    await Promise.all(blobs.slice(0, 8).map((b, i) => commit(b, `c${i}`)));
    for (const b of blobs.slice(0, 8)) assert.ok((await readAll(store, digestOf(b))).equals(b));
    // The store remembers the folder exists; removed behind its back, the next commit makes it again.
    const folder = join(root, 'blobs', 'sha256', digestOf(blobs[8]!).slice(7, 9));
    await rm(folder, { recursive: true });
    await commit(blobs[8]!, 'c8');
    assert.ok((await readAll(store, digestOf(blobs[8]!))).equals(blobs[8]!));
    assert.deepEqual(await readdir(join(root, 'uploads')), []);
    await store.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a large first write whose file cannot be opened lets go of the body it read into', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-'));
  try {
    // Opens fail as a process out of descriptors sees them; a large first write opens through FsOps.
    const emfile = Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' });
    const store = await FsBlobStore.open(root, { ...nodeFs, open: async () => Promise.reject(emfile) });
    let released = false;
    const body = async function* () {
      try {
        yield* chunks(randomBytes(2 * 1024 * 1024), 64 * 1024);
      } finally {
        // Where a request body's socket is handed back, so the answer can drain the rest.
        released = true;
      }
    };
    await assert.rejects(store.writeUpload('u', await store.createUpload('u'), 0, body()), /EMFILE/);
    assert.ok(released, 'the body was left suspended after the open failed');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
