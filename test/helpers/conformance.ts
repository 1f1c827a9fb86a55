/**
 * The OCI distribution-spec conformance suite (its v1.1 tests, the binary wrapper in
 * ../shared/tools/oci-conformance) run against a Berth started by a test. The suite pushes as
 * a user into a project of its own; the result is read from the suite's junit report, so a
 * test can show exactly which specs failed. Under CI=true a missing binary is a failure;
 * elsewhere the test skips with the reason.
 */
import type { ConfigInput } from '../../src/config/schema.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ADMIN, ADMIN_PASSWORD, api, ok } from './auth.js';

/** The repository root (dist/test/helpers -> ../../..), and shared/ beside it as in a CI clone. */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const CONFORMANCE_BIN = resolve(repoRoot, '../shared/tools/oci-conformance');

/** Undefined when the suite is present; else a skip reason (outside CI) or a throw (under CI=true). */
/**
 * The settings the suite runs with: Berth as configured by default, but for scan on push,
 * which attaches SBOMs to each pushed image as OCI 1.1 referrers; the suite counts the
 * referrers of its own images exactly, and Berth's additions would be miscounted as extra.
 */
export const CONFORMANCE_CONFIG: Partial<ConfigInput> = { scanning: { onPush: false } } as Partial<ConfigInput>;

export function conformanceSkipReason(): string | undefined {
  if (existsSync(CONFORMANCE_BIN)) return undefined;
  const reason = `OCI conformance suite not found at ${CONFORMANCE_BIN}`;
  if (process.env.CI === 'true') throw new Error(`${reason}; required under CI=true`);
  return reason;
}

export interface ConformanceResult {
  exitCode: number;
  tests: number;
  failures: number;
  errors: number;
  /** Names of the failed specs. */
  failed: string[];
  /** The wrapper's own output (the last lines of the suite's log). */
  output: string;
}

/** Runs every workflow of the suite against `url` as `user`/`password`, in repositories under `namespace`. */
export async function runConformance(url: string, user: string, password: string, namespace: string): Promise<ConformanceResult> {
  const results = await mkdtemp(join(tmpdir(), 'oci-conformance-'));
  try {
    const { exitCode, output } = await new Promise<{ exitCode: number; output: string }>((done) => {
      execFile(CONFORMANCE_BIN, [url, user, password], { env: { ...process.env, OCI_NAMESPACE: namespace, RESULTS_DIR: results }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        done({ exitCode: code, output: `${stdout}${stderr}` });
      });
    });
    const junit = await readFile(join(results, 'junit.xml'), 'utf8').catch(() => '');
    const suite = /<testsuites?\b[^>]*>/.exec(junit)?.[0] ?? '';
    const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? NaN);
    // The suite's own summary names each failed spec on a `[FAIL]` line.
    const failed = [...output.matchAll(/^\s*\[FAIL\] (.*)$/gm)].map((m) => m[1]!.trim());
    return { exitCode, tests: attr('tests'), failures: attr('failures'), errors: attr('errors'), failed, output };
  } finally {
    await rm(results, { recursive: true, force: true });
  }
}

/**
 * Creates the project `conformance` through the API as the admin and runs the whole suite in
 * it as that admin: every spec must run and pass.
 */
export async function assertConformance(url: string): Promise<void> {
  await ok(api(url, 'POST', '/projects', ADMIN, { name: 'conformance', public: false }));
  const r = await runConformance(url, 'admin', ADMIN_PASSWORD, `conformance/r${Date.now()}`);
  assert.ok(r.tests > 50, `expected the whole suite to run, got ${r.tests} specs:\n${r.output}`);
  assert.deepEqual(r.failed, [], `failed specs:\n${r.failed.join('\n')}\n${r.output}`);
  assert.equal(r.failures + r.errors, 0, r.output);
  assert.equal(r.exitCode, 0, r.output);
}
