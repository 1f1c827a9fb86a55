/**
 * Runs the `berth` CLI of this build as a user would: its own process, its saved login in a
 * file of the test's (never the home folder of whoever runs the tests), logs silenced, and no
 * BERTH_CONFIG or BERTH_DATA_DIR of the calling shell.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** A `berth(args, stdin)` that runs in `dir` with its login saved in `dir/cli.json` (or `opts.config`). */
export function cliIn(dir: string) {
  return (args: string[], stdin = '', opts: { cwd?: string; config?: string } = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      const { BERTH_CONFIG: _c, BERTH_DATA_DIR: _d, ...env } = process.env;
      const p = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? dir, env: { ...env, BERTH_LOG_LEVEL: 'silent', BERTH_CLI_CONFIG: opts.config ?? join(dir, 'cli.json') } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code: code ?? 1, out, err }));
      p.stdin.end(stdin);
    });
}
