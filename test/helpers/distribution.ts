/**
 * The reference registry (CNCF Distribution, Debian's /usr/bin/docker-registry) on a free
 * loopback port over a temp folder, for replication tests; and a TCP proxy in front of a
 * server that can "die" after some bytes went through (every connection cut, the port
 * closed) and come back on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

export interface Distribution {
  url: string;
  host: string;
  stop(): Promise<void>;
}

export async function startDistribution(bin = '/usr/bin/docker-registry'): Promise<Distribution> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-distribution-'));
  const port = await freePort();
  await writeFile(
    join(dir, 'config.yml'),
    ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${err}`);
    try {
      if ((await fetch(`${url}/v2/`)).status === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export class DyingProxy {
  port = 0;
  /** Bytes sent from clients to the server so far. */
  forwarded = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private limit = Infinity;

  constructor(private readonly upstreamPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((client) => {
      const up = connect(this.upstreamPort, '127.0.0.1');
      this.sockets.add(client).add(up);
      const close = () => {
        client.destroy();
        up.destroy();
        this.sockets.delete(client);
        this.sockets.delete(up);
      };
      client.on('data', (c: Buffer) => {
        this.forwarded += c.length;
        if (this.forwarded > this.limit) return void this.die();
        up.write(c);
      });
      up.on('data', (c: Buffer) => client.write(c));
      client.on('close', close).on('error', close);
      up.on('close', close).on('error', close);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /** Dies once `bytes` more have gone through. */
  dieAfter(bytes: number): void {
    this.limit = this.forwarded + bytes;
  }

  die(): void {
    const s = this.server;
    this.server = undefined;
    for (const x of this.sockets) x.destroy();
    this.sockets.clear();
    s?.close();
  }

  async revive(): Promise<void> {
    this.limit = Infinity;
    if (!this.server) await this.start();
  }

  async stop(): Promise<void> {
    this.die();
  }
}
