/**
 * Runs Berth as a real child process (`node dist/src/cli/main.js serve`) on a free loopback
 * port, for end-to-end and crash tests: start, wait until `GET /v2/` answers, kill with any
 * signal (SIGKILL for a crash), and start again on the same data folder and port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { testStorage, type TestStorage } from './storage.js';

/** dist/src/cli/main.js, found from this compiled file (dist/test/helpers/process.js). */
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface BerthProcessOptions {
  /** Existing data folder (kept on dispose); default: a fresh temp folder removed on dispose. */
  dataDir?: string;
  /** Extra environment (e.g. BERTH_* settings). */
  env?: Record<string, string>;
  /** How long to wait for `GET /v2/` to answer. */
  readyTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1 (bound once by the OS, then released for the child). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class BerthProcess {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly ownsDataDir: boolean,
    private readonly options: BerthProcessOptions,
    /** Blob storage chosen by BERTH_TEST_STORAGE (undefined: the data folder's filesystem). */
    private readonly storage: TestStorage | undefined,
    /** A PostgreSQL database of its own when BERTH_TEST_METADATA=postgres (else SQLite in the data folder). */
    private readonly database: TestDatabase | undefined,
  ) {}

  /** Starts a server and waits until it answers. */
  static async start(options: BerthProcessOptions = {}): Promise<BerthProcess> {
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-e2e-')));
    const storage = options.env?.BERTH_STORAGE__DRIVER ? undefined : await testStorage();
    const database = options.env?.BERTH_METADATA__DRIVER || process.env.BERTH_TEST_METADATA !== 'postgres' ? undefined : await createTestDatabase();
    const p = new BerthProcess(dataDir, await freePort(), options.dataDir === undefined, options, storage, database);
    try {
      await p.spawn();
    } catch (e) {
      await p.dispose();
      throw e;
    }
    return p;
  }

  /** host:port, for clients that take a registry address. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Everything the process wrote to stdout and stderr so far (for failure messages). */
  get log(): string {
    return this.output;
  }

  private async spawn(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'serve', '--listen', this.host, '--data-dir', this.dataDir, '--log-level', 'warn'], {
      // Open registry unless the test asks for access control (BERTH_AUTH__ENABLED=true), and
      // one process, so that a SIGKILL kills the whole server.
      env: { ...process.env, BERTH_AUTH__ENABLED: 'false', BERTH_WORKERS: '1', ...this.storage?.env, ...(this.database ? { BERTH_METADATA__DRIVER: 'postgres', BERTH_METADATA__POSTGRES__URL: this.database.url } : {}), ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString('utf8')).slice(-20000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = once(child, 'exit').then(([code, signal]) => {
      throw new Error(`berth exited before it was ready (code ${code}, signal ${signal}):\n${this.output}`);
    });
    exited.catch(() => {});
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 15000);
    for (;;) {
      try {
        const r = await Promise.race([fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(1000) }), exited]);
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) return; // 401: up, with access control on
      } catch (e) {
        if (child.exitCode !== null || child.signalCode !== null) throw e;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`berth did not answer GET /v2/ within the timeout:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null };
    }
    const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill(signal);
    const [code, sig] = await exit;
    return { code, signal: sig };
  }

  /** Starts a new process on the same data folder and port (after `kill`). */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.spawn();
  }

  /** Kills the process (SIGKILL if it is still running) and removes a temp data folder. */
  async dispose(): Promise<void> {
    await this.kill('SIGKILL');
    await this.storage?.cleanup();
    await this.database?.drop();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
