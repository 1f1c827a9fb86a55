/**
 * First-run footprint (`npm run bench:footprint`): starts the registry the way a newcomer does,
 * `npm start` from this checkout over a fresh temporary data folder on a free port, measures the
 * time from the command to `GET /v2/` answering, waits until it is idle, and then reads the
 * resident memory (VmRSS, MB = 10^6 bytes) of every process in the tree `npm start` left
 * (npm itself, the shell npm runs the script in if any, the Berth primary and each worker)
 * from /proc. Prints one line per process and the tree's total, and with `--json` a JSON
 * document. Targets (issue 12): `npm start` to `/v2/` < 3 s on an existing build, a supervising
 * primary < 45 MB, an idle worker < 80 MB, the whole tree < 200 MB on 2 cores.
 *
 * Flags: `--workers N` (default: the configured default), `--direct` (run `node dist/src/cli/main.js
 * serve` without npm), `--second-start` (start once to create the admin and signing key, stop,
 * and measure the next start: what an installed registry runs every day), `--idle-seconds S` (default 25: V8's memory reducer shrinks an idle heap after about 10-20 s), `--json`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Proc {
  pid: number;
  ppid: number;
  command: string;
  rssMb: number;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function readProc(pid: number): Promise<Proc | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return { pid, ppid, command: cmdline, rssMb: (rssKiB * 1024) / 1e6 };
  } catch {
    return undefined; // gone, or a kernel thread
  }
}

/** `root` and every process below it, parents first. */
export async function processTree(root: number): Promise<Proc[]> {
  const all: Proc[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = await readProc(Number(e));
    if (p) all.push(p);
  }
  const out: Proc[] = [];
  const visit = (pid: number) => {
    const p = all.find((x) => x.pid === pid);
    if (!p) return;
    out.push(p);
    for (const c of all.filter((x) => x.ppid === pid)) visit(c.pid);
  };
  visit(root);
  return out;
}

function role(p: Proc, tree: Proc[]): string {
  if (/\bnpm\b|npm-cli\.js/.test(p.command)) return 'npm';
  if (/^(\/bin\/)?sh -c/.test(p.command)) return 'shell';
  const serve = (x: Proc) => /^(\S*\/)?node .*cli\/main\.js serve/.test(x.command);
  if (serve(p)) {
    if (tree.some((c) => c.ppid === p.pid && serve(c))) return 'primary';
    return tree.some((x) => x.pid === p.ppid && serve(x)) ? 'worker' : 'server';
  }
  return 'other';
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const direct = process.argv.includes('--direct');
  const workers = flag('--workers');
  const idleSeconds = Number(flag('--idle-seconds') ?? 25);
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-footprint-'));
  const port = await freePort();
  const serveArgs = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'warn', ...(workers ? ['--workers', workers] : [])];
  const [cmd, args] = direct ? [process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'serve', ...serveArgs]] : ['npm', ['start', '--silent', '--', ...serveArgs]];
  if (process.argv.includes('--second-start')) {
    const first = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'serve', ...serveArgs, '--workers', '1'], { cwd: ROOT, env: { ...process.env, BERTH_ADMIN_PASSWORD: 'footprint-admin-1' }, stdio: 'ignore' });
    for (;;) {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
      await r?.body?.cancel();
      if (r) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    first.kill('SIGTERM');
    await new Promise((res) => first.once('exit', res));
  }
  const started = performance.now();
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, BERTH_ADMIN_PASSWORD: 'footprint-admin-1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  try {
    let readyMs = 0;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${log}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) });
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) {
          readyMs = performance.now() - started;
          break;
        }
      } catch {
        // not yet listening
      }
      if (performance.now() - started > 120_000) throw new Error(`no answer on /v2/ after 120 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Every worker answers once it listens; wait until all are up and the start-up garbage is collected.
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const tree = await processTree(child.pid!);
    const rows = tree.map((p) => ({ pid: p.pid, role: role(p, tree), rssMb: Math.round(p.rssMb * 10) / 10, command: p.command.slice(0, 100) }));
    const total = Math.round(tree.reduce((s, p) => s + p.rssMb, 0) * 10) / 10;
    const result = { secondStart: process.argv.includes('--second-start'), command: [direct ? 'node dist/src/cli/main.js serve' : 'npm start --', ...serveArgs.map((a) => (a === dataDir ? '<tmp>' : a))].join(' '), readyMs: Math.round(readyMs), processes: rows, totalMb: total };
    if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      process.stdout.write(`${result.command}${result.secondStart ? ' (second start)' : ''}\n/v2/ answered after ${result.readyMs} ms; after ${idleSeconds} s idle:\n`);
      for (const r of rows) process.stdout.write(`  ${r.role.padEnd(8)} pid ${String(r.pid).padEnd(8)} ${r.rssMb.toFixed(1).padStart(6)} MB  ${r.command}\n`);
      process.stdout.write(`  ${'total'.padEnd(22)} ${total.toFixed(1).padStart(6)} MB\n`);
    }
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 1000));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // exited on SIGTERM
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
