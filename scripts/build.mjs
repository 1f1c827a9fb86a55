#!/usr/bin/env node
/**
 * Builds what is out of date, and nothing else: the server, tests and benchmarks (tsc -> dist/)
 * when a file under src/, test/ or bench/, tsconfig.json or package.json is newer than
 * dist/.build-stamp, and the web UI (tsc -p ui && vite build -> ui/dist/) when a file under
 * ui/ (outside ui/dist), package.json or package-lock.json is newer than ui/dist/.build-stamp.
 * The check reads file times only (a few hundred stat calls), so `npm start` and `npm test`
 * pay for a build only after a change. `--force` builds all (`npm install` runs it through
 * `prepare`); `--server` / `--ui` / `--native` limit it to one part.
 *
 * The native part (native/: sendfile(2) for blob pulls, Linux only) is compiled with node-gyp
 * against the installed Node's headers; nothing is downloaded. It is optional: when it cannot
 * be built the build says so in one line and goes on, and the server copies blobs through
 * buffers instead (src/storage/fs/sendfile.ts).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const force = args.has('--force');
const only = args.has('--server') ? 'server' : args.has('--ui') ? 'ui' : args.has('--native') ? 'native' : undefined;

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

function run(cmd, cmdArgs, optional = false) {
  const bin = join(root, 'node_modules', '.bin', cmd);
  const r = spawnSync(existsSync(bin) ? bin : cmd, cmdArgs, { cwd: root, stdio: optional ? 'pipe' : 'inherit' });
  if (r.status !== 0 && optional) return false;
  if (r.status !== 0) {
    process.stderr.write(`build: ${cmd} ${cmdArgs.join(' ')} failed\n`);
    process.exit(r.status ?? 1);
  }
  return true;
}

/**
 * node-gyp as npm ships it (npm tells its lifecycle scripts where; otherwise beside npm), and
 * the headers of the Node that runs the build (npm's `nodedir` setting, or the prefix of this
 * node binary), so that node-gyp never downloads them.
 */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const gyp = candidates.find((p) => p && existsSync(p));
  const nodedir = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')].find((d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')));
  return gyp && nodedir ? { gyp, nodedir } : undefined;
}

const parts = [
  {
    name: 'server',
    stamp: join(root, 'dist', '.build-stamp'),
    inputs: () => newest(['src', 'test', 'bench', 'tsconfig.json', 'package.json']),
    build: () => {
      run('tsc', ['-p', 'tsconfig.json']);
      // The package's bin (`npx berth`): tsc writes files without the exec bit, which npm sets
      // only at install; a build outside an install (a fresh worktree) would leave it unrunnable.
      chmodSync(join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);
    },
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
  {
    name: 'native',
    stamp: join(root, 'native', 'build', '.build-stamp'),
    inputs: () => newest(['native/sendfile.c', 'native/binding.gyp']),
    build: () => {
      const tools = process.platform === 'linux' ? nodeGyp() : undefined;
      const built = tools && run(process.execPath, [tools.gyp, 'rebuild', '--directory', 'native', `--nodedir=${tools.nodedir}`], true);
      if (!built) process.stderr.write('build: native sendfile not built (needs Linux, node-gyp and a C compiler); blob pulls copy through buffers instead\n');
      // Stamped either way: a machine that cannot build it does not retry on every start.
      mkdirSync(join(root, 'native', 'build'), { recursive: true });
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
