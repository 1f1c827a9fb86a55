/**
 * Starts and stops the registries under test, each on its own loopback port over its own
 * temporary folder, with the same log level and their logs written to a file (not through the
 * benchmark process). The reference is CNCF Distribution (`docker-registry`, Debian package)
 * with filesystem storage, optionally behind htpasswd Basic auth; Berth runs from this
 * build's `dist/` as `berth serve`, configured through BERTH_* variables set explicitly here
 * (process count, access control, metadata and storage drivers), never through defaults that
 * may change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import bcrypt from 'bcryptjs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenAuth } from './token-auth.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Registry {
  name: 'reference' | 'berth';
  /** Which configuration, for logs and tables (e.g. "berth-pg-s3"). */
  label: string;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  pid: number;
  /** True when `POST /blobs/uploads/?digest=` with a body completes the upload in one request. */
  singlePostUpload: boolean;
  logFile: string;
  /** Sent with every request of the benchmark client (credentials of a registry with auth). */
  headers: Record<string, string>;
  /** With access control and the token flow: where the client's Bearer tokens come from. */
  tokens?: TokenAuth;
  /**
   * Where the registry can take tags without HTTP (straight into its database): the tag phase
   * uses it for the tags left over when its time budget ran out.
   */
  seedTags?: (repo: string, digest: string, tags: string[]) => Promise<void>;
  /** The last error lines of the server's log (for a failure message; the log goes with the folder). */
  errorLog(): string;
  /**
   * Resolves once the work a round leaves behind is done (Berth: no scan of a pushed image
   * queued or running, as its metrics report); returns the milliseconds waited. It must not run
   * in the next round's timing, the same registry's or the other's.
   */
  idle?(): Promise<number>;
  /** The server is a Node process (Berth, not under a wrapper): its threads can be told apart by kind (thread-cpu.ts). */
  nodeThreads?: boolean;
  stop(): Promise<void>;
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export const REFERENCE_BIN = process.env.BENCH_REFERENCE_BIN ?? '/usr/bin/docker-registry';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, logFile: string, readyMs = 20_000): Promise<void> {
  const deadline = Date.now() + readyMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}\n${tail(logFile)}`);
    try {
      const r = await fetch(`${url}/v2/`);
      await r.arrayBuffer();
      // 401: up, with access control on.
      if (r.status === 200 || r.status === 401) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url}: not ready after ${readyMs / 1000} s\n${tail(logFile)}`);
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

interface LaunchOptions {
  name: Registry['name'];
  label: string;
  dir: string;
  command: string;
  args: string[];
  port: number;
  singlePostUpload: boolean;
  env?: Record<string, string>;
  headers?: Record<string, string>;
  /** How long the server may take to answer /v2/ (default 20 s). */
  readyMs?: number;
}

async function launch(o: LaunchOptions): Promise<Registry> {
  const { dir, port } = o;
  const logFile = join(dir, 'server.log');
  const fd = openSync(logFile, 'a');
  // BERTH_* from the caller's shell must not change what is measured: only ours are passed.
  // AWS_CA_BUNDLE (set on some machines) makes the reference's AWS SDK panic at start with its
  // own HTTP transport; the S3 endpoint here is plain HTTP on loopback, so it needs none.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_') && k !== 'AWS_CA_BUNDLE'));
  const child = spawn(o.command, o.args, { stdio: ['ignore', fd, fd], env: { ...inherited, NODE_ENV: 'production', ...o.env } });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, logFile, o.readyMs);
  } catch (e) {
    await stop();
    throw e;
  }
  const errorLog = () =>
    tail(logFile, 2000)
      .split('\n')
      .filter((l) => /"level":(50|60)|level=(error|fatal)|panic/.test(l))
      .slice(-5)
      .join('\n');
  return { name: o.name, label: o.label, url, pid: child.pid!, singlePostUpload: o.singlePostUpload, logFile, headers: o.headers ?? {}, errorLog, stop };
}

/** The reference; with `htpasswd`, behind Basic auth with one bcrypt user (cost 5, as `htpasswd -B`). */
export async function startReference(
  logLevel: string,
  opts: { label?: string; htpasswd?: { user: string; password: string }; /** A `storage:` section other than the filesystem. */ storage?: string[] } = {},
): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-reference-'));
  const port = await freePort();
  const auth: string[] = [];
  if (opts.htpasswd) {
    await writeFile(join(dir, 'htpasswd'), `${opts.htpasswd.user}:${bcrypt.hashSync(opts.htpasswd.password, 5)}\n`);
    auth.push('auth:', '  htpasswd:', '    realm: bench', `    path: ${join(dir, 'htpasswd')}`);
  }
  const config = [
    'version: 0.1',
    'log:',
    `  level: ${logLevel}`,
    '  fields:',
    '    service: registry',
    ...(opts.storage ?? ['storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`]),
    '  cache:',
    '    blobdescriptor: inmemory',
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...auth,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const headers: Record<string, string> = opts.htpasswd ? { authorization: basic(opts.htpasswd.user, opts.htpasswd.password) } : {};
  return launch({ name: 'reference', label: opts.label ?? 'reference', dir, command: REFERENCE_BIN, args: ['serve', join(dir, 'config.yml')], port, singlePostUpload: false, headers });
}

export interface BerthOptions {
  label?: string;
  /** Processes (BERTH_WORKERS); 1 runs without a cluster. */
  workers?: number;
  /** Access control (BERTH_AUTH__ENABLED); with it on, the admin's password is `adminPassword`. */
  auth?: boolean;
  adminPassword?: string;
  /** More BERTH_* settings (metadata and storage drivers). Default: SQLite and filesystem in the data folder. */
  env?: Record<string, string>;
  /** Credentials the benchmark client sends. */
  headers?: Record<string, string>;
  /** Another build's dist/src/cli/main.js (default: BENCH_BERTH_MAIN, else this build). */
  main?: string;
  /** Extra node flags for the server, space-separated (default: BENCH_BERTH_NODE_ARGS). */
  nodeArgs?: string;
  /** A command the server runs under, e.g. valgrind and its options (instructions-ab.ts); it starts slowly, so readiness may take minutes. */
  wrapper?: string[];
}

/** Server settings written `BERTH_A=1,BERTH_B=2` (BENCH_BERTH_ENV and the like) as an object. */
export function parseSettings(text: string | undefined): Record<string, string> {
  return Object.fromEntries((text ?? '').split(',').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));
}

export async function startBerth(logLevel: string, opts: BerthOptions = {}): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-berth-'));
  const port = await freePort();
  // BENCH_BERTH_MAIN: another build's dist/src/cli/main.js (to compare two versions of Berth).
  const main = opts.main || process.env.BENCH_BERTH_MAIN || fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  // BENCH_BERTH_NODE_ARGS: extra node flags for the server (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = (opts.nodeArgs ?? process.env.BENCH_BERTH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const env: Record<string, string> = {
    BERTH_WORKERS: String(opts.workers ?? 1),
    // The job gauges read afresh at each scrape, for idle() (otherwise at most every 15 s).
    BERTH_METRICS__COLLECT_INTERVAL_SECONDS: '0',
    BERTH_AUTH__ENABLED: String(opts.auth ?? false),
    ...(opts.adminPassword ? { BERTH_ADMIN_PASSWORD: opts.adminPassword } : {}),
    ...opts.env,
  };
  const args = [...nodeArgs, main, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--log-level', logLevel];
  const [command, ...wrapped] = [...(opts.wrapper ?? []), process.execPath, ...args];
  const registry = await launch({ name: 'berth', label: opts.label ?? 'berth', dir, command: command!, args: wrapped, port, singlePostUpload: true, env, headers: opts.headers, ...(opts.wrapper ? { readyMs: 300_000 } : {}) });
  registry.idle = () => jobsIdle(registry.url);
  registry.nodeThreads = !opts.wrapper;
  return registry;
}

/**
 * Polls Berth's metrics until no image scan is queued or running (at most 5 minutes); the
 * milliseconds waited. Only scans: other kinds (a scheduled scrub, say) are not a round's doing.
 */
async function jobsIdle(url: string): Promise<number> {
  const start = performance.now();
  const settled = Date.now() + 300_000;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    // berth_jobs_queued{kind="scan.manifest"} 12, and the same for running.
    const pending = [...text.matchAll(/^berth_jobs_(?:queued|running)\{kind="scan\.manifest"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    if (pending === 0) return performance.now() - start;
    if (Date.now() > settled) throw new Error(`${url}: ${pending} image scans still queued or running after 5 minutes`);
    await sleep(100);
  }
}

/** The project every workload's repositories live in (bench/blobs, bench/small, ...). */
export const BENCH_PROJECT = 'bench';

/**
 * Berth as users run it: access control on, a private project, and an ordinary account with the
 * developer role (push and pull) whose client signs in through the Docker token flow. The admin
 * only sets this up; every measured request carries the developer's Bearer token.
 */
export async function startBerthWithAccess(logLevel: string, opts: Omit<BerthOptions, 'auth' | 'adminPassword' | 'headers'> = {}): Promise<Registry> {
  const adminPassword = randomBytes(12).toString('hex');
  const registry = await startBerth(logLevel, { ...opts, auth: true, adminPassword });
  const admin = basic('admin', adminPassword);
  const user = { name: 'developer', password: randomBytes(12).toString('hex') };
  const api = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${registry.url}/api/v1${path}`, { method, headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${registry.label}: ${method} /api/v1${path}: ${r.status} ${text.slice(0, 300)}`);
  };
  try {
    await api('POST', '/projects', { name: BENCH_PROJECT, public: false });
    await api('POST', '/users', { name: user.name, password: user.password });
    await api('PUT', `/projects/${BENCH_PROJECT}/members/${user.name}`, { role: 'developer' });
  } catch (e) {
    await registry.stop();
    throw e;
  }
  registry.tokens = new TokenAuth(registry.url, user.name, user.password);
  return registry;
}
