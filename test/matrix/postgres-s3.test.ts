/**
 * The scale-out configuration under the same tests as the embedded default: the whole
 * HTTP/OCI conformance suite, the skopeo end-to-end tests and the online-GC stress test run again, in a child test
 * runner, with every server on PostgreSQL metadata (a database of its own) and S3 blob
 * storage on the real Ceph RADOS Gateway (scripts/ceph-rgw.sh). Needs both; fails under
 * CI=true when either is missing, skips with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { postgresSkipReason } from '../helpers/postgres.js';
import { cephEndpoint } from '../helpers/s3.js';

const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Each failing subtest's "not ok" line with its YAML diagnostic block (error, stack), so CI shows why. */
function failureBlocks(tap: string): string {
  const lines = tap.split('\n');
  const blocks: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*not ok /.test(lines[i]!)) continue;
    const block = [lines[i]!];
    for (let j = i + 1; j < lines.length && j < i + 60; j++) {
      block.push(lines[j]!);
      if (/^\s*\.\.\.$/.test(lines[j]!)) break;
    }
    blocks.push(block.join('\n'));
  }
  return blocks.join('\n');
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  return rest;
}

test('conformance, skopeo end-to-end and GC stress tests on PostgreSQL + S3 (Ceph RGW)', { timeout: 600_000 }, async (t) => {
  const ceph = await cephEndpoint(); // throws under CI=true when Ceph cannot start
  const skip = (await postgresSkipReason()) ?? (typeof ceph === 'string' ? ceph : undefined);
  if (skip) return t.skip(skip);
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-force-exit', '--test-reporter=tap', dist('registry/'), dist('e2e/skopeo.test.js'), dist('lifecycle/gc-stress.test.js')], {
    // A fresh test runner, not a child of this one (node marks its children with NODE_TEST_CONTEXT).
    env: { ...withoutTestContext(process.env), BERTH_TEST_METADATA: 'postgres', BERTH_TEST_STORAGE: 's3',
      // Every request pays Ceph's latency here: the GC storm runs longer to see as many operations.
      STRESS_SECONDS: '40' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const pass = Number(/^# pass (\d+)$/m.exec(out)?.[1] ?? 0);
  const fail = Number(/^# fail (\d+)$/m.exec(out)?.[1] ?? -1);
  const failures = failureBlocks(out);
  assert.equal(fail, 0, `failures on PostgreSQL + S3:\n${failures}\n${out.slice(-3000)}`);
  assert.equal(code, 0, out.slice(-3000));
  assert.ok(pass >= 50, `expected the whole suite to run, got ${pass} passing tests`);
});
