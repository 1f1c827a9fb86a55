/**
 * Starts and stops the two registries under test, each on its own loopback port over its own
 * temporary folder, with the same log level and their logs written to a file (not through the
 * benchmark process). The reference is CNCF Distribution (`docker-registry`, Debian package)
 * with filesystem storage; Berth runs from this build's `dist/` as `berth serve`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Registry {
  name: 'reference' | 'berth';
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  pid: number;
  /** True when `POST /blobs/uploads/?digest=` with a body completes the upload in one request. */
  singlePostUpload: boolean;
  logFile: string;
  stop(): Promise<void>;
}

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

async function waitReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}\n${tail(logFile)}`);
    try {
      const r = await fetch(`${url}/v2/`);
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 401) return; // 401: access control on
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url}: not ready after 20 s\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

async function launch(name: Registry['name'], dir: string, command: string, args: string[], port: number, singlePostUpload: boolean): Promise<Registry> {
  const logFile = join(dir, 'server.log');
  const fd = openSync(logFile, 'a');
  // Berth runs as an open registry (as the reference does) unless the caller asks for access control.
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: { BERTH_AUTH__ENABLED: 'false', ...process.env, NODE_ENV: 'production' } });
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
    await waitReady(url, child, logFile);
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, url, pid: child.pid!, singlePostUpload, logFile, stop };
}

export async function startReference(logLevel: string): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-reference-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    `  level: ${logLevel}`,
    '  fields:',
    '    service: registry',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  cache:',
    '    blobdescriptor: inmemory',
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  return launch('reference', dir, REFERENCE_BIN, ['serve', join(dir, 'config.yml')], port, false);
}

export async function startBerth(logLevel: string): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-berth-'));
  const port = await freePort();
  // BENCH_BERTH_MAIN: another build's dist/src/cli/main.js (to compare two versions of Berth).
  const main = process.env.BENCH_BERTH_MAIN ?? fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  // BENCH_BERTH_NODE_ARGS: extra node flags for the server (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = (process.env.BENCH_BERTH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return launch('berth', dir, process.execPath, [...nodeArgs, main, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--log-level', logLevel], port, true);
}
