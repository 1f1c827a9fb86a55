/**
 * Upstream registries for the pull-through cache tests, all real and on loopback: CNCF
 * Distribution (the Debian `docker-registry`), with or without htpasswd Basic auth, which a
 * test can kill and start again on the same port and data; and a counting HTTP proxy put in
 * front of one, which counts the requests the cache sends upstream and, when a test asks,
 * damages one blob's bytes (a flipped byte, or a body cut short) as a faulty upstream would,
 * or sends them slowly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { freePort } from '../helpers/process.js';

export const DISTRIBUTION = '/usr/bin/docker-registry';

export interface Distribution {
  url: string;
  port: number;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startDistribution(opts: { htpasswd?: { user: string; password: string } } = {}): Promise<Distribution> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-proxy-upstream-'));
  const port = await freePort();
  const auth: string[] = [];
  if (opts.htpasswd) {
    await writeFile(join(dir, 'htpasswd'), `${opts.htpasswd.user}:${bcrypt.hashSync(opts.htpasswd.password, 5)}\n`);
    auth.push('auth:', '  htpasswd:', '    realm: upstream', `    path: ${join(dir, 'htpasswd')}`);
  }
  const config = ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, ...auth, ''].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  const d: Distribution = {
    url,
    port,
    async start() {
      output = '';
      child = spawn(DISTRIBUTION, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_CA_BUNDLE: '' } });
      child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) break;
        try {
          const r = await fetch(`${url}/v2/`);
          await r.arrayBuffer();
          if (r.status === 200 || r.status === 401) return;
        } catch {
          // not listening yet
        }
        await sleep(50);
      }
      throw new Error(`docker-registry did not start: ${output.slice(-2000)}`);
    },
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
      }
    },
    async dispose() {
      await d.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await d.start();
  return d;
}

/** `slow`: the blob's bytes come at a few tens of MB/s (a client can join a fetch under way); `corrupt-slow`: both. */
export type Fault = 'corrupt' | 'truncate' | 'slow' | 'corrupt-slow';

/** Forwards to `target`, counting requests by `METHOD path` and applying blob faults. */
export class CountingProxy {
  readonly counts = new Map<string, number>();
  /** Faults by blob digest, applied to GET responses of that blob. */
  readonly faults = new Map<string, Fault>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<CountingProxy> {
    const t = new URL(target);
    let self!: CountingProxy;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const key = `${req.method} ${path}`;
      self.counts.set(key, (self.counts.get(key) ?? 0) + 1);
      const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
      const fault = req.method === 'GET' && digest ? self.faults.get(digest) : undefined;
      const out = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (up: IncomingMessage) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!fault || up.statusCode !== 200) return void up.pipe(res);
        const total = Number(up.headers['content-length']);
        let seen = 0;
        up.on('data', (chunk: Buffer) => {
          const start = seen;
          seen += chunk.length;
          const middle = Math.floor(total / 2);
          if (fault === 'truncate' && seen >= middle) {
            res.write(chunk.subarray(0, middle - start));
            up.destroy();
            res.destroy();
            return;
          }
          if (fault === 'corrupt-slow' && start <= middle && middle < seen) {
            chunk = Buffer.from(chunk);
            chunk[middle - start] ^= 0xff;
          }
          if (fault === 'slow' || fault === 'corrupt-slow') {
            up.pause();
            res.write(chunk);
            setTimeout(() => up.resume(), 2);
            return;
          }
          if (fault === 'corrupt' && start <= middle && middle < seen) {
            chunk = Buffer.from(chunk);
            chunk[middle - start] ^= 0xff;
          }
          res.write(chunk);
        });
        up.on('end', () => res.end());
      });
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('upstream unreachable');
      });
      req.pipe(out);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address() as { port: number };
    self = new CountingProxy(server, `http://127.0.0.1:${addr.port}`);
    return self;
  }

  /** Requests matching `method` whose path ends with `suffix`. */
  count(method: string, suffix: string): number {
    let n = 0;
    for (const [k, v] of this.counts) if (k.startsWith(`${method} `) && k.endsWith(suffix)) n += v;
    return n;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
