/**
 * Runs the real `berth serve` command as a child process (as an operator would), on a free
 * loopback port, for tests that need several nodes or `--workers`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface BerthProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash) and wait until it is gone. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** `fdLimit`: the child's soft limit on open files (lowered through the shell's `ulimit -n`). */
export async function startBerthProcess(opts: { args?: string[]; env?: Record<string, string>; port?: number; fdLimit?: number }): Promise<BerthProcess> {
  const port = opts.port ?? (await freePort());
  const argv = [CLI, 'serve', '--listen', `127.0.0.1:${port}`, ...(opts.args ?? [])];
  // Never the checkout's ./data (the default): a data folder of its own unless the test names one.
  const ownDir = opts.args?.includes('--data-dir') || opts.env?.BERTH_DATA_DIR ? undefined : await mkdtemp(join(tmpdir(), 'berth-process-'));
  if (ownDir) argv.push('--data-dir', ownDir);
  const [command, args] = opts.fdLimit === undefined ? [process.execPath, argv] : ['/bin/sh', ['-c', `ulimit -n ${Math.floor(opts.fdLimit)} && exec "$0" "$@"`, process.execPath, ...argv]];
  const proc = spawn(command, args, {
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_AUTH__ENABLED: 'false', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (gone()) throw new Error(`berth exited with ${proc.exitCode ?? proc.signalCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/v2/`);
      // 401: access control is on and the registry answers.
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`berth did not start listening:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = once(proc, 'exit').then(() => proc.exitCode);
  return {
    url,
    port,
    proc,
    output: () => out,
    async stop() {
      if (!gone()) proc.kill('SIGTERM');
      const code = await exited;
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      if (!gone()) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Environment that points a node at a PostgreSQL database and a shared blob folder. */
export function postgresNodeEnv(url: string, storageRoot: string, dataDir: string): Record<string, string> {
  return {
    BERTH_METADATA__DRIVER: 'postgres',
    BERTH_METADATA__POSTGRES__URL: url,
    BERTH_METADATA__POSTGRES__POOL_SIZE: '4',
    BERTH_STORAGE__DRIVER: 'filesystem',
    BERTH_STORAGE__FILESYSTEM__ROOT: storageRoot,
    BERTH_DATA_DIR: dataDir,
    // Nodes with data folders of their own share the key that seals the token-signing keys.
    BERTH_AUTH__KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
  };
}

export const TEST_KEY_ENCRYPTION_KEY = 'berth-test-key-encryption-key-0123456789';
