/**
 * Connection-level limits of the HTTP server: what a slow or idle client may hold. Every
 * socket costs a file descriptor, so without these a few thousand clients that connect and
 * then say nothing (or trickle a byte every few seconds) exhaust the process and the registry
 * stops answering everyone.
 *
 * - Headers: a request's headers must be complete within `headersTimeoutMs` of its first byte
 *   (or of the connection, for the first request); Node's own timer, checked every second.
 * - Idle keep-alive: a connection waiting for its next request is closed after
 *   `keepAliveTimeoutMs` (Node's own timer).
 * - Bodies and responses: no total deadline (a 10 GB layer may take an hour), but a minimum
 *   rate. While the server waits on the client (reading a body the server is ready to take,
 *   or writing a response the client does not read), the connection must move at least
 *   `minBytesPerSecond` on average over each `rateWindowMs`, or it is closed. Waiting on the
 *   server's side (a slow storage write holding the body back, a long database operation)
 *   never counts against the client.
 * - Counts: at most `maxConnectionsPerAddress` open connections per client address (excess
 *   connections are closed at once; behind a reverse proxy every client has the proxy's
 *   address, so raise it or set 0 there), and at most `maxConnections` in all, by default
 *   what the process's file-descriptor limit leaves room for. At that cap a new connection
 *   replaces the oldest one that holds nothing (idle, or still sending headers) or sends a
 *   body below the minimum rate, so a flood of slow clients cannot lock out a real one.
 *   With `--workers`, each worker process applies the limits to its own connections.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no rate rule. */
  minBytesPerSecond: number;
  rateWindowMs: number;
  /** 0: no per-address cap. */
  maxConnectionsPerAddress: number;
  /** 0: derived from the file-descriptor limit. */
  maxConnections: number;
}

/** How often the rate rule looks at connections and Node checks header deadlines. */
export const CHECK_INTERVAL_MS = 1000;

/** File descriptors kept for everything that is not a client socket (database, blob files, logs). */
const RESERVED_FDS = 256;

/** The soft limit on open files of this process, when the platform says (Linux /proc). */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * The default cap on connections: half of what the descriptor limit leaves after a reserve,
 * because a connection that reads or writes a blob on the filesystem holds a second one.
 */
export function defaultMaxConnections(fdLimit = openFileLimit()): number {
  if (fdLimit === undefined) return 10_000;
  return Math.max(64, Math.floor((fdLimit - RESERVED_FDS) / 2));
}

interface Tracked {
  /** A request of this connection is being handled (headers read, response not finished). */
  busy: boolean;
  /** The request whose body is being read, while it is. */
  reading: IncomingMessage | undefined;
  /** Responses this connection has received: a client that was served is a real one. */
  served: number;
  /** Start of the current rate window and the byte counts then. */
  since: number;
  read: number;
  written: number;
}

/** Installs the limits on `server`; returns a function that stops the rate checks. */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, now: () => number = Date.now): () => void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // No total deadline for a request: large blobs take long. The rate rule below bounds slowness.
  server.requestTimeout = 0;
  const cap = limits.maxConnections > 0 ? limits.maxConnections : defaultMaxConnections();
  // Node's own refusal is only the backstop for a burst faster than evictions free descriptors.
  server.maxConnections = Math.floor(cap * 1.25);

  const connections = new Connections(limits, cap, now);
  server.on('connection', (socket: Socket) => connections.admit(socket));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => connections.serving(req, res));
  const timer = setInterval(() => connections.enforceRate(), CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The open connections of one server: who may connect, who is being served, who is too slow. */
class Connections {
  private readonly perAddress = new Map<string, number>();
  /** Every open connection, oldest first (a Map keeps insertion order). */
  private readonly tracked = new Map<Socket, Tracked>();
  private readonly minBytesPerWindow: number;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly cap: number,
    private readonly now: () => number,
  ) {
    this.minBytesPerWindow = (limits.minBytesPerSecond * limits.rateWindowMs) / 1000;
  }

  /** A new connection: refused past its address's cap, or at the total cap when nothing can make room. */
  admit(socket: Socket): void {
    if (!this.countAddress(socket)) return void socket.destroy();
    if (this.tracked.size >= this.cap && !this.evict()) return void socket.destroy();
    this.tracked.set(socket, { busy: false, reading: undefined, served: 0, since: this.now(), read: 0, written: 0 });
    socket.once('close', () => this.tracked.delete(socket));
  }

  /** Counts the connection against its address; false when the address is at its cap. */
  private countAddress(socket: Socket): boolean {
    if (this.limits.maxConnectionsPerAddress <= 0) return true;
    const address = socket.remoteAddress ?? '';
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.limits.maxConnectionsPerAddress) return false;
    this.perAddress.set(address, open + 1);
    socket.once('close', () => {
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, n);
    });
    return true;
  }

  /**
   * At the cap, a new connection takes the place of the oldest one that holds nothing: first
   * one that has not completed a request yet (silent, or still sending its headers: what a
   * flood of slow clients looks like), then one idle between requests (a client that was
   * served, whose next request would otherwise meet a reset), else a body that is slower than
   * the minimum rate so far. Slow clients therefore cannot keep a new one out; only
   * connections whose requests are being served can.
   */
  private evict(): boolean {
    let slowest: Socket | undefined;
    let idle: Socket | undefined;
    const at = this.now();
    for (const [socket, t] of this.tracked) {
      if (!t.busy && t.served === 0) return this.close(socket);
      if (!t.busy) {
        idle ??= socket;
        continue;
      }
      if (slowest === undefined && this.minBytesPerWindow > 0 && waitingOnClient(socket, t) && at - t.since >= CHECK_INTERVAL_MS) {
        if (moved(socket, t) < (this.limits.minBytesPerSecond * (at - t.since)) / 1000) slowest = socket;
      }
    }
    const victim = idle ?? slowest;
    return victim ? this.close(victim) : false;
  }

  /** A request on a tracked connection: busy until its response closes, reading while its body arrives. */
  serving(req: IncomingMessage, res: ServerResponse): void {
    const t = this.tracked.get(req.socket);
    if (!t) return;
    t.busy = true;
    res.once('close', () => {
      t.busy = false;
      t.reading = undefined;
      t.served++;
    });
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return;
    t.reading = req;
    const done = () => {
      if (t.reading === req) t.reading = undefined;
    };
    req.once('end', done);
    req.once('close', done);
  }

  /** The rate rule: closes each connection the server waited on for a window while it moved too few bytes. */
  enforceRate(): void {
    if (this.minBytesPerWindow <= 0) return;
    const at = this.now();
    for (const [socket, t] of this.tracked) {
      const waited = waitingOnClient(socket, t);
      if (waited && at - t.since < this.limits.rateWindowMs) continue;
      if (waited && moved(socket, t) < this.minBytesPerWindow) {
        this.close(socket);
        continue;
      }
      // Not waiting on the client, or the window passed at the rate: a new window starts.
      t.since = at;
      t.read = socket.bytesRead;
      t.written = socket.bytesWritten;
    }
  }

  private close(socket: Socket): true {
    socket.destroy();
    this.tracked.delete(socket);
    return true;
  }
}

/** Whether the server is waiting on this connection's client (a body to send, a response to take). */
function waitingOnClient(socket: Socket, t: Tracked): boolean {
  return (t.reading !== undefined && t.reading.readableLength === 0) || socket.writableLength > 0;
}

/** Bytes moved either way since the connection's rate window started. */
function moved(socket: Socket, t: Tracked): number {
  return socket.bytesRead - t.read + (socket.bytesWritten - t.written);
}
