/**
 * `berth gc` and `berth usage` as a separate process against the data folder of a running
 * server: dry run (JSON) and real run (text) report the same removals with byte counts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startBerth } from '../helpers/berth.js';
import { pushImage, randomBlob } from '../helpers/oci.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('berth gc --dry-run --json, then berth gc, beside a running server', async () => {
  const t = await startBerth({ lifecycle: { gc: { schedule: null }, schedulerEnabled: false } });
  try {
    const keep = await pushImage(t.url, 'c/app', 'keep', { layers: [randomBlob(1500, 0.1)] });
    const gone = await pushImage(t.url, 'c/app', 'gone', { layers: [randomBlob(2500, 0.2)] });
    await fetch(`${t.url}/v2/c/app/manifests/gone`, { method: 'DELETE' });
    const env = { ...process.env, BERTH_LOG_LEVEL: 'silent' };
    const dry = await run(process.execPath, [cli, 'gc', '--dry-run', '--json', '--grace', '0s', '--data-dir', t.dataDir], { env });
    const report = JSON.parse(dry.stdout) as { dryRun: boolean; totals: Record<string, { count: number; bytes: number }>; bytesFreed: number; items: { manifest: { digest: string }[] } };
    assert.equal(report.dryRun, true);
    assert.equal(report.totals.manifest!.count, 1);
    assert.equal(report.items.manifest[0]!.digest, gone.digest);
    assert.equal(report.bytesFreed, gone.config.length + 2500);
    assert.equal((await fetch(`${t.url}/v2/c/app/manifests/${gone.digest}`)).status, 200, 'a dry run removes nothing');

    const real = await run(process.execPath, [cli, 'gc', '--grace', '0s', '--data-dir', t.dataDir], { env });
    assert.match(real.stdout, /removed 1 manifests/);
    assert.match(real.stdout, new RegExp(`freed .* \\(${report.bytesFreed} bytes\\)`));
    assert.match(real.stdout, new RegExp(gone.digest));
    assert.equal((await fetch(`${t.url}/v2/c/app/blobs/${gone.digest}`)).status, 404);
    assert.equal((await fetch(`${t.url}/v2/c/app/manifests/keep`)).status, 200);

    const usage = await run(process.execPath, [cli, 'usage', 'c', '--json', '--data-dir', t.dataDir], { env });
    const u = JSON.parse(usage.stdout) as { usage: { bytes: number; tags: number } };
    assert.equal(u.usage.tags, 1);
    assert.equal(u.usage.bytes, keep.config.length + 1500 + keep.manifest.length);
  } finally {
    await t.close();
  }
});
