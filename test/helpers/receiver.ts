/**
 * A real HTTP webhook receiver on loopback for tests: records every request (headers, body,
 * arrival time) and answers with the status the test sets; it can go down and come back on
 * the same port.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** The status answered. */
  status: number;
}

export class Receiver {
  readonly requests: Received[] = [];
  /** Status to answer; a function gets the request number (0-based). */
  answer: number | ((n: number, body: string) => number) = 200;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = typeof this.answer === 'function' ? this.answer(this.requests.length, body) : this.answer;
        this.requests.push({ headers: req.headers, body, at: Date.now(), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : 'receiver says no');
      });
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Down: connections are refused until start() again. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Successful requests' parsed bodies. */
  delivered(): any[] {
    return this.requests.filter((r) => r.status < 300).map((r) => JSON.parse(r.body));
  }

  async waitFor(pred: (r: Received[]) => boolean, timeoutMs = 10_000, what = 'webhook requests'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.requests)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${this.requests.length}: ${JSON.stringify(this.requests.map((r) => [r.status, r.body.slice(0, 120)]))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Polls until `fn` returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
