/**
 * The loopback limit for one pull: what curl (the client the benchmark pulls registries' blobs
 * with) receives over 127.0.0.1 from a server that does nothing but send. That server is a
 * separate Node process answering each request on a raw socket with a fixed header and one
 * reused 4 MiB buffer, keeping four writes in flight (no HTTP framework, no file, no hash, no
 * database). Each single-stream pull from a registry is paired with a pull from this server
 * taken right after it; a raw TCP stream between two Node processes is reported beside it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { curlPull } from './client.js';

const SENDER = `
const net = require('node:net');
const size = Number(process.argv[1]);
const unit = Buffer.alloc(4 << 20, 7);
function send(socket, done) {
  let sent = 0, inflight = 0;
  const more = () => {
    while (sent < size && inflight < 4) {
      const n = Math.min(unit.length, size - sent);
      sent += n;
      inflight++;
      socket.write(n === unit.length ? unit : unit.subarray(0, n), () => { inflight--; more(); });
    }
    if (sent >= size && inflight === 0) done();
  };
  more();
}
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  if (process.argv[2] === 'raw') return send(socket, () => socket.end());
  let pending = '';
  socket.on('data', (d) => {
    pending += d.toString('latin1');
    const end = pending.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    pending = pending.slice(end + 4);
    socket.write('HTTP/1.1 200 OK\\r\\ncontent-type: application/octet-stream\\r\\ncontent-length: ' + size + '\\r\\n\\r\\n');
    send(socket, () => {});
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function startSender(size: number, mode: 'http' | 'raw') {
  const child = spawn(process.execPath, ['-e', SENDER, String(size), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), pid: child.pid!, stop: () => void child.kill('SIGTERM') };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The send-only server, started once: `pull()` times one pull of `size` bytes from it with
 * curl (MB/s). The machine's speed drifts by 2-3x over minutes here (a shared host), so a
 * registry's pull is compared with a loopback pull taken right beside it, not with a figure
 * measured minutes apart.
 */
export async function startLoopback(size: number): Promise<{ pull: () => Promise<number>; stop: () => Promise<void> }> {
  const sender = await startSender(size, 'http');
  const pull = () => curlPull(`http://127.0.0.1:${sender.port}/loopback`, {}, size, 'loopback');
  await pull(); // warm-up
  return {
    pull,
    stop: async () => sender.stop(),
  };
}

/** Median MB/s of `runs` raw TCP streams of `size` bytes between two Node processes (no HTTP), after a warm-up. */
export async function rawTcpLimit(size: number, runs: number): Promise<number> {
  const raw = await startSender(size, 'raw');
  const rawTcp: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        let n = 0;
        const socket = connect(raw.port, '127.0.0.1');
        socket.on('data', (chunk: Buffer) => (n += chunk.length));
        socket.on('error', reject);
        socket.on('end', () => (n === size ? resolve() : reject(new Error(`loopback: ${n} of ${size} bytes`))));
      });
      if (i > 0) rawTcp.push(size / 1e6 / ((performance.now() - started) / 1000));
    }
  } finally {
    raw.stop();
  }
  return median(rawTcp);
}
