/**
 * Uploads under faults, over a real SQLite store and filesystem store wrapped by the test:
 * a commit whose metadata transaction fails leaves no bytes behind; cancelling works when the
 * row can only be deleted once the bytes are gone (a full disk); a write lease whose release
 * fails is released again instead of blocking the session for its whole lease; and, over
 * HTTP, a PATCH that sends its headers and then nothing is ended by the body idle timeout,
 * the session stays at its last durable offset and a new connection continues it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite } from '../../src/metadata/sqlite.js';
import type { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import type { Digest, RepoName } from '../../src/domain/names.js';
import { UploadService } from '../../src/registry/uploads.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, randomBlob, sha256 } from '../helpers/oci.js';

const repo = 'faults/app' as RepoName;

async function* body(data: Buffer): AsyncIterable<Buffer> {
  yield data;
}

/** `meta` with some methods replaced (a path like 'uploads.delete'). */
function wrapMeta(meta: MetadataStore, replace: Record<string, (orig: (...a: unknown[]) => Promise<unknown>, ...a: unknown[]) => Promise<unknown>>): MetadataStore {
  const wrap = <T extends object>(target: T, prefix: string): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const path = prefix + String(prop);
        const v = Reflect.get(t, prop, receiver) as unknown;
        if (typeof v === 'function' && replace[path]) {
          const orig = (v as (...a: unknown[]) => Promise<unknown>).bind(t);
          return (...a: unknown[]) => replace[path]!(orig, ...a);
        }
        if (typeof v === 'function') return (v as (...a: unknown[]) => unknown).bind(t);
        if (v && typeof v === 'object' && (prop === 'uploads' || prop === 'blobs')) return wrap(v, `${path}.`);
        return v;
      },
    });
  return wrap(meta, '');
}

function connectionLost(): Error {
  return Object.assign(new Error('Connection terminated unexpectedly'), {});
}

describe('upload faults (service over real stores)', () => {
  let dir: string;
  let meta: SqlMetadataStore;
  let fs: FsBlobStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-upload-faults-'));
    meta = openSqlite(join(dir, 'berth.db'));
    await meta.migrate();
    fs = await FsBlobStore.open(join(dir, 'storage'));
  });
  after(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function files(): Promise<string[]> {
    const entries = await readdir(join(dir, 'storage'), { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name);
  }

  it('a commit whose metadata transaction fails leaves no bytes behind', async () => {
    let failures = 1;
    const flaky = wrapMeta(meta, {
      transaction: async (orig, ...a) => {
        if (failures-- > 0) throw connectionLost();
        return orig(...a);
      },
    });
    const uploads = new UploadService(flaky, fs);
    const data = randomBlob(200_000, 0.51);
    const digest = sha256(data) as Digest;
    await assert.rejects(uploads.putMonolithic(repo, digest, body(data)), /Connection terminated/);
    assert.equal(await meta.blobs.get(digest), undefined);
    assert.equal(await fs.stat(digest), undefined, 'the bytes of the failed commit are still stored');
    assert.deepEqual(await files(), []);
    // The client pushes again and it works.
    await uploads.putMonolithic(repo, digest, body(data));
    assert.equal(await fs.stat(digest), data.length);
  });

  it('a failed commit keeps bytes another push recorded meanwhile', async () => {
    const data = randomBlob(50_000, 0.52);
    const digest = sha256(data) as Digest;
    const plain = new UploadService(meta, fs);
    let failures = 1;
    const flaky = wrapMeta(meta, {
      transaction: async (orig, ...a) => {
        if (failures-- > 0) {
          // Another push of the same content records the blob while this commit fails.
          await plain.putMonolithic('faults/other' as RepoName, digest, body(data));
          throw connectionLost();
        }
        return orig(...a);
      },
    });
    await assert.rejects(new UploadService(flaky, fs).putMonolithic(repo, digest, body(data)));
    assert.equal(await fs.stat(digest), data.length, 'bytes recorded by the other push must stay');
    assert.ok(await meta.blobs.get(digest));
  });

  it('cancel deletes the bytes before the row (a full disk frees space first)', async () => {
    const uploads = new UploadService(meta, fs);
    const { id } = await uploads.start(repo);
    await uploads.append(repo, id, body(randomBlob(10_000, 0.53)));
    // A database on a full disk: the row's delete works only once the upload's bytes are gone.
    const full = wrapMeta(meta, {
      'uploads.delete': async (orig, ...a) => {
        if ((await files()).includes(id)) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        return orig(...a);
      },
    });
    await new UploadService(full, fs).cancel(repo, id);
    assert.equal(await meta.uploads.get(id), undefined);
    assert.ok(!(await files()).includes(id));
  });

  it('a write lease whose release failed does not block the session for its whole lease', async () => {
    let failures = 1;
    const flaky = wrapMeta(meta, {
      'uploads.unlock': async (orig, ...a) => {
        if (failures-- > 0) throw connectionLost();
        return orig(...a);
      },
    });
    const uploads = new UploadService(flaky, fs);
    const { id } = await uploads.start(repo);
    const data = randomBlob(20_000, 0.54);
    await uploads.append(repo, id, body(data.subarray(0, 10_000)));
    // The lease lasts 10 s; the next chunk must get through well before that.
    const started = Date.now();
    for (;;) {
      try {
        await uploads.append(repo, id, body(data.subarray(10_000)));
        break;
      } catch (e) {
        if (Date.now() - started > 3000) throw e;
        await sleep(100);
      }
    }
    assert.ok(Date.now() - started < 3000);
    await uploads.finish(repo, id, sha256(data) as Digest, undefined);
  });
});

describe('a stalled upload body', () => {
  let b: TestBerth;
  before(async () => {
    b = await startBerth({ registry: { uploadIdleTimeoutSeconds: 1 } });
  });
  after(async () => b.close());

  it('is ended by the idle timeout; the session stays at its last durable offset and continues from a new connection', async () => {
    const data = randomBlob(300_000, 0.55);
    const start = await fetch(`${b.url}/v2/stall/app/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    const first = await fetch(b.url + loc, { method: 'PATCH', body: bytes(Buffer.from(data.subarray(0, 100_000))), headers: { 'Content-Range': '0-99999' } });
    assert.equal(first.status, 202);
    // Headers and a few bytes of the next chunk, then nothing.
    const { port } = new URL(b.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const closed = new Promise<number>((r) => {
      const t0 = Date.now();
      socket.once('close', () => r(Date.now() - t0));
    });
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.write(`PATCH ${loc} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: 100000-299999\r\nContent-Length: 200000\r\n\r\n`);
    socket.write(data.subarray(100_000, 101_000));
    const waited = await Promise.race([closed, sleep(8000).then(() => -1)]);
    socket.destroy();
    assert.notEqual(waited, -1, 'the server must end a request whose body stalls');
    // It says why before it closes the connection, and by then the upload is free to continue.
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /BLOB_UPLOAD_INVALID/);
    // Back at the last durable offset, and writable at once from a new connection.
    const status = await fetch(b.url + loc);
    assert.equal(status.headers.get('range'), '0-99999');
    const rest = await fetch(b.url + loc, { method: 'PATCH', body: bytes(Buffer.from(data.subarray(100_000))), headers: { 'Content-Range': '100000-299999' } });
    assert.equal(rest.status, 202, await rest.text());
    const done = await fetch(`${b.url}${loc}?digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(done.status, 201);
    const got = await fetch(`${b.url}/v2/stall/app/blobs/${sha256(data)}`);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
  });
});
