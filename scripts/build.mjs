#!/usr/bin/env node
/**
 * Builds what is out of date, and nothing else: the server, tests and benchmarks (tsc -> dist/)
 * when a file under src/, test/ or bench/, tsconfig.json or package.json is newer than
 * dist/.build-stamp, and the web UI (tsc -p ui && vite build -> ui/dist/) when a file under
 * ui/ (outside ui/dist), package.json or package-lock.json is newer than ui/dist/.build-stamp.
 * The check reads file times only (a few hundred stat calls), so `npm start` and `npm test`
 * pay for a build only after a change. `--force` builds both (`npm install` runs it through
 * `prepare`); `--server` / `--ui` limit it to one part.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const force = args.has('--force');
const only = args.has('--server') ? 'server' : args.has('--ui') ? 'ui' : undefined;

/** Newest modification time (ms) of the files under `paths`, skipping `skip` folders. */
function newest(paths, skip = new Set()) {
  let max = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (skip.has(p)) return;
      for (const e of readdirSync(p)) visit(join(p, e));
    } else max = Math.max(max, st.mtimeMs);
  };
  for (const p of paths) visit(join(root, p));
  return max;
}

function stampTime(stamp) {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -1;
  }
}

function run(cmd, cmdArgs) {
  const bin = join(root, 'node_modules', '.bin', cmd);
  const r = spawnSync(existsSync(bin) ? bin : cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: ${cmd} ${cmdArgs.join(' ')} failed\n`);
    process.exit(r.status ?? 1);
  }
}

const parts = [
  {
    name: 'server',
    stamp: join(root, 'dist', '.build-stamp'),
    inputs: () => newest(['src', 'test', 'bench', 'tsconfig.json', 'package.json']),
    build: () => run('tsc', ['-p', 'tsconfig.json']),
  },
  {
    name: 'ui',
    stamp: join(root, 'ui', 'dist', '.build-stamp'),
    inputs: () => newest(['ui', 'package.json', 'package-lock.json'], new Set([join(root, 'ui', 'dist')])),
    build: () => {
      run('tsc', ['-p', 'ui']);
      run('vite', ['build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn']);
    },
  },
];

for (const part of parts) {
  if (only && part.name !== only) continue;
  const started = Date.now();
  if (!force && stampTime(part.stamp) >= part.inputs()) continue;
  process.stderr.write(`build: ${part.name} is out of date, building\n`);
  part.build();
  // The stamp records when the inputs were read, so an edit made during the build counts.
  writeFileSync(part.stamp, `${new Date(started).toISOString()}\n`);
  utimesSync(part.stamp, new Date(started), new Date(started));
}
