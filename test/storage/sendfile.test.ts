/**
 * Blob pulls with sendfile(2) (src/storage/fs/sendfile.ts, native/sendfile.c): the native
 * module is built, whole files and ranges arrive byte for byte after the headers and the
 * connection stays usable, a client that goes away or stops reading ends the transfer with an
 * error instead of holding it, and a TLS response is left to the buffered copy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import type { Digest } from '../../src/domain/names.js';
import { PrematureCloseError } from '../../src/storage/fs/copy.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { sendFileAvailable, sendFileRange } from '../../src/storage/fs/sendfile.js';

const SIZE = 24 * 1024 * 1024 + 12_345;
/** Off a CI run a machine without a C compiler has no module: the copy path serves, nothing to test here. */
const skip = !sendFileAvailable && process.env.CI !== 'true' ? 'the native module is not built on this machine' : false;
let dir: string;
let file: string;
let data: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-sendfile-'));
  file = join(dir, 'blob');
  data = randomBytes(SIZE);
  await writeFile(file, data);
});
after(() => rm(dir, { recursive: true, force: true }));

/** A server whose handler sends `file` (or a range of it, from `?start=&end=`) with sendFileRange. */
async function serve(idleMs?: number): Promise<{ port: number; outcomes: (boolean | Error)[]; close: () => Promise<void> }> {
  const outcomes: (boolean | Error)[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url!, 'http://x');
    const start = Number(u.searchParams.get('start') ?? 0);
    const end = Number(u.searchParams.get('end') ?? SIZE - 1);
    const fh = await open(file, 'r');
    res.writeHead(200, { 'Content-Length': String(end - start + 1), 'X-Test': 'headers first' });
    try {
      const sent = await sendFileRange(res, fh, start, end, idleMs);
      outcomes.push(sent);
      res.end();
    } catch (e) {
      outcomes.push(e as Error);
      res.destroy();
    } finally {
      await fh.close();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, outcomes, close: () => new Promise((r) => server.close(() => r())) };
}

function get(port: number, path: string, agent?: import('node:http').Agent): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the native module is built and loads', { skip }, () => {
  assert.equal(sendFileAvailable, true, 'native/build/Release/berth_sendfile.node did not load (scripts/build.mjs builds it)');
});

test('whole files and ranges arrive byte for byte, one after another on one connection', { skip }, async () => {
  const s = await serve();
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const whole = await get(s.port, '/', agent);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['x-test'], 'headers first');
    assert.ok(whole.body.equals(data), 'whole file');
    for (const [start, end] of [[0, 0], [1, 65_536], [SIZE - 10, SIZE - 1], [7_000_000, 19_999_999]] as const) {
      const r = await get(s.port, `/?start=${start}&end=${end}`, agent);
      assert.ok(r.body.equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
    }
    assert.deepEqual(s.outcomes, [true, true, true, true, true], 'every response went out with sendfile');
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('a client that goes away mid-transfer ends it with a premature close', { skip }, async () => {
  const s = await serve();
  try {
    const socket = connect(s.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // Read a little, then reset the connection.
    await once(socket, 'data');
    socket.resetAndDestroy();
    while (s.outcomes.length === 0) await new Promise((r) => setTimeout(r, 20));
    assert.ok(s.outcomes[0] instanceof PrematureCloseError, `got ${String(s.outcomes[0])}`);
  } finally {
    await s.close();
  }
});

test('a client that stops reading is cut after the idle time', { skip }, async () => {
  const s = await serve(400);
  try {
    const socket = connect(s.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.pause();
    const started = Date.now();
    while (s.outcomes.length === 0) await new Promise((r) => setTimeout(r, 20));
    assert.match(String(s.outcomes[0]), /idle timeout/);
    assert.ok(Date.now() - started < 10_000);
    socket.destroy();
  } finally {
    await s.close();
  }
});

test('the filesystem store sends a blob with sendfile when asked to (storage.filesystem.sendfile)', { skip }, async () => {
  const root = join(dir, 'store');
  const store = await FsBlobStore.open(root, undefined, { sendfile: true });
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
  const id = 'u1';
  const handle = await store.createUpload(id);
  const { handle: h } = await store.writeUpload(id, handle, 0, (async function* () {
    yield data;
  })());
  await store.commitUpload(id, h, data.length, digest);
  let nodeWrote = 0;
  const server = createServer(async (_req, res) => {
    const copy = await store.openCopy(digest, { start: 5, end: SIZE - 6 });
    res.writeHead(200, { 'Content-Length': String(SIZE - 10) });
    // The native path leaves Node's own write counter untouched: only the headers went through it.
    await copy.writeTo(res);
    nodeWrote = res.socket?.bytesWritten ?? -1;
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const r = await get((server.address() as AddressInfo).port, '/');
    assert.ok(r.body.equals(data.subarray(5, SIZE - 5)));
    assert.ok(nodeWrote >= 0 && nodeWrote < 4096, `Node wrote ${nodeWrote} bytes itself: the body did not go through sendfile`);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
