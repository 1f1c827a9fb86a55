/**
 * Slow and idle connections are bounded. A soak of thousands of slow anonymous connections
 * (loopback only, from addresses of 127.0.0.0/8) against a `berth serve` whose file-descriptor
 * limit is 1024: clients that never send headers, send them a byte at a time, trickle a body,
 * or sit idle after a request. The registry must keep answering a pull from another address
 * within a second throughout, refuse connections past the per-address cap at once, and close
 * every slow connection within its timeout (header deadline, minimum body rate, keep-alive).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { startBerthProcess } from '../helpers/node-process.js';
import { bytes, imageManifest, sha256 } from '../helpers/oci.js';

// Wide enough that a connection closed at once (past the address cap) and one closed by a timeout
// stay apart even on a loaded machine.
const SECONDS = { headers: 4, window: 4, keepAlive: 4 };

interface Slow {
  kind: 'silent' | 'headers' | 'body' | 'idle';
  from: string;
  socket: Socket;
  openedAt: number;
  closedAt?: number;
  /** Bytes the server sent. */
  received: number;
}

test('thousands of slow connections do not stop the registry answering', { timeout: 120_000 }, async () => {
  const berth = await startBerthProcess({
    fdLimit: 1024,
    args: ['--workers', '1'],
    env: {
      BERTH_HTTP__HEADERS_TIMEOUT_SECONDS: String(SECONDS.headers),
      BERTH_HTTP__RATE_WINDOW_SECONDS: String(SECONDS.window),
      BERTH_HTTP__KEEP_ALIVE_TIMEOUT_SECONDS: String(SECONDS.keepAlive),
      BERTH_HTTP__MAX_CONNECTIONS_PER_ADDRESS: '200',
      BERTH_LIFECYCLE__SCHEDULER_ENABLED: 'false',
    },
  });
  const trickles: NodeJS.Timeout[] = [];
  const slow: Slow[] = [];
  const pullAgent = new Agent({ localAddress: '127.0.0.2', connect: { timeout: 1000 } });
  try {
    // Something to pull.
    const config = Buffer.from('{"soak":true}');
    assert.equal((await fetch(`${berth.url}/v2/soak/app/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: bytes(config) })).status, 201);
    const manifest = imageManifest(config, []);
    assert.equal((await fetch(`${berth.url}/v2/soak/app/manifests/v1`, { method: 'PUT', body: bytes(manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })).status, 201);

    const started = Date.now();
    const open = (kind: Slow['kind'], from: string): void => {
      const socket = connect({ host: '127.0.0.1', port: berth.port, localAddress: from });
      const s: Slow = { kind, from, socket, openedAt: Date.now(), received: 0 };
      slow.push(s);
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => (s.received += d.length));
      socket.on('close', () => (s.closedAt = Date.now()));
      socket.on('connect', () => {
        if (kind === 'headers') {
          const head = 'GET /v2/soak/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1000);
          let i = 0;
          trickles.push(setInterval(() => !socket.destroyed && socket.write(head[i++ % head.length]!), 500));
        } else if (kind === 'body') {
          socket.write('PUT /v2/soak/app/manifests/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 100000\r\n\r\n{');
          trickles.push(setInterval(() => !socket.destroyed && socket.write(' '), 500));
        } else if (kind === 'idle') {
          socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
        }
      });
    };
    // 1,500 from one address (past its cap), 1,500 from thirty others (past the total the
    // process's descriptors allow), each kind in turn.
    // Opened in bursts of 100 (one burst of 3,000 SYNs would only measure the kernel's accept queue).
    const kinds: Slow['kind'][] = ['silent', 'headers', 'body', 'idle'];
    for (let i = 0; i < 1500; i++) {
      open(kinds[i % 4]!, '127.0.0.10');
      open(kinds[i % 4]!, `127.0.0.${11 + (i % 30)}`);
      if (i % 50 === 49) await new Promise((res) => setTimeout(res, 20));
    }
    const settled = Date.now() + 5000;
    while (Date.now() < settled && slow.some((s) => s.socket.connecting)) await new Promise((res) => setTimeout(res, 50));

    // Throughout, a pull from another address answers within a second.
    const pulls: number[] = [];
    const until = started + (SECONDS.headers + SECONDS.window + 4) * 1000;
    while (Date.now() < until) {
      const t0 = Date.now();
      const pull = () => request(`${berth.url}/v2/soak/app/manifests/v1`, { dispatcher: pullAgent, headersTimeout: 1000, bodyTimeout: 1000, headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      // At the connection cap the server may close a kept-alive connection between two requests;
      // clients (Go's transport in skopeo, containerd and docker) then send the request again on a
      // new connection, once. The time asserted below includes that retry.
      const r = await pull().catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNRESET' || e.code === 'UND_ERR_SOCKET') return pull();
        throw e;
      });
      const body = Buffer.from(await r.body.arrayBuffer());
      assert.equal(r.statusCode, 200);
      assert.equal(sha256(body), sha256(manifest));
      pulls.push(Date.now() - t0);
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(pulls.length >= 10, `pulls: ${pulls.length}`);
    assert.ok(Math.max(...pulls) < 1000, `pull times (ms): ${pulls.join(', ')}`);

    // Past the per-address cap connections are closed at once.
    const capped = slow.filter((s) => s.from === '127.0.0.10' && s.closedAt !== undefined && s.closedAt - s.openedAt < (SECONDS.headers - 0.5) * 1000);
    assert.ok(capped.length >= 1500 - 200 - 50, `closed at once from the capped address: ${capped.length}`);

    // Every slow connection is gone within its timeout (plus the once-a-second check).
    const deadline = started + (SECONDS.headers + SECONDS.window + SECONDS.keepAlive + 6) * 1000;
    while (Date.now() < deadline && slow.some((s) => s.closedAt === undefined)) await new Promise((res) => setTimeout(res, 200));
    const lingering = slow.filter((s) => s.closedAt === undefined);
    const byKind = (k: Slow['kind']) => lingering.filter((s) => s.kind === k).length;
    assert.equal(lingering.length, 0, `still open after ${Math.round((Date.now() - started) / 1000)} s: silent ${byKind('silent')}, headers ${byKind('headers')}, body ${byKind('body')}, idle ${byKind('idle')} (${lingering.filter((s) => s.received > 0).length} of them answered, from ${new Set(lingering.map((s) => s.from)).size} addresses)`);

    // And the registry serves ordinary clients as before.
    assert.equal((await fetch(`${berth.url}/v2/soak/app/manifests/v1`)).status, 200);
  } finally {
    for (const t of trickles) clearInterval(t);
    for (const s of slow) s.socket.destroy();
    await pullAgent.close();
    await berth.stop();
  }
});
