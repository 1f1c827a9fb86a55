/**
 * External command-line tools for end-to-end tests. Under CI=true a missing tool is a test
 * failure (CI must install it); elsewhere the test is skipped with the reason.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * `false` when every tool is present; otherwise a skip reason (outside CI). Throws under
 * CI=true, so `describe(..., { skip: missingTools(...) })` fails the run instead of skipping.
 */
export function missingTools(...names: string[]): string | false {
  const missing = names.filter((n) => !findTool(n));
  if (missing.length === 0) return false;
  const reason = `missing tool(s): ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`;
  if (process.env.CI === 'true') throw new Error(`${reason}; required under CI=true`);
  return reason;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a tool; a non-zero exit throws with its output, so the test shows why. */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, {
      timeout: opts.timeoutMs ?? 60000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...opts.env },
      encoding: 'utf8',
    });
    return { stdout, stderr };
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string; code?: unknown };
    throw new Error(`${cmd} ${args.join(' ')} failed (${String(err.code)}): ${err.stderr ?? ''}${err.stdout ?? ''}`.slice(0, 4000));
  }
}
