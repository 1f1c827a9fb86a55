/**
 * Backup and restore of the embedded default with the real `berth` command: a backup taken
 * while pushes keep going restores (into an empty folder) to a registry that passes the
 * consistency check the crash tests use, holds every image acknowledged before the backup
 * started, and serves it. Refusals (a non-empty target, a PostgreSQL registry) change nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BackupReport } from '../../src/ops/backup.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { checkConsistency } from '../helpers/consistency.js';
import { pushImage, randomBlob, sha256, type ImageParts } from '../helpers/oci.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function berth(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BERTH_CONFIG: '', BERTH_LOG_LEVEL: 'warn', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('backup and restore', () => {
  let b: TestBerth;
  let work: string;
  before(async () => {
    b = await startBerth({ storage: { driver: 'filesystem', filesystem: {}, verifyReads: false } });
    work = await mkdtemp(join(tmpdir(), 'berth-backup-test-'));
  });
  after(async () => {
    await b?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('restores a backup taken during concurrent pushes to a consistent registry', async () => {
    const acknowledged: { repo: string; tag: string; image: ImageParts }[] = [];
    for (let i = 0; i < 3; i++) acknowledged.push({ repo: 'team/app', tag: `before-${i}`, image: await pushImage(b.url, 'team/app', `before-${i}`, { layers: [randomBlob(20_000)] }) });

    // Pushes keep going while the backup runs.
    let pushing = true;
    let during = 0;
    const pushers = [0, 1].map(async (w) => {
      for (let i = 0; pushing; i++) {
        await pushImage(b.url, `team/live${w}`, `t${i}`, { layers: [randomBlob(5_000 + i)] });
        during++;
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const to = join(work, 'backup');
    const r = await berth(['backup', '--data-dir', b.dataDir, '--to', to, '--json']);
    pushing = false;
    await Promise.all(pushers);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as BackupReport;
    assert.ok(during > 0, 'pushes ran beside the backup');
    assert.deepEqual(report.missing, []);
    assert.ok(report.linked > 0 && report.copied === 0, 'blob files are hard-linked by default');

    const target = join(work, 'restored');
    const restored = await berth(['restore', '--from', to, '--data-dir', target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, new RegExp(`restored ${report.blobs} blobs`));

    const r2 = await startBerth({ dataDir: target, storage: { driver: 'filesystem', filesystem: {}, verifyReads: false } });
    try {
      const counts = await checkConsistency(target, r2.url);
      assert.equal(counts.blobs, report.blobs);
      assert.equal(counts.uploads, 0, 'upload sessions are not part of a backup');
      for (const a of acknowledged) {
        const m = await fetch(`${r2.url}/v2/${a.repo}/manifests/${a.tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
        assert.equal(m.status, 200, `${a.repo}:${a.tag} acknowledged before the backup`);
        assert.equal(m.headers.get('docker-content-digest'), a.image.digest);
        const layer = await fetch(`${r2.url}/v2/${a.repo}/blobs/${sha256(a.image.layers[0]!)}`);
        assert.equal(sha256(Buffer.from(await layer.arrayBuffer())), sha256(a.image.layers[0]!));
      }
      // The restored registry takes pushes.
      await pushImage(r2.url, 'team/app', 'after-restore');
    } finally {
      await r2.close();
    }
  });

  it('refuses a non-empty target and a registry that is not the embedded default, changing nothing', async () => {
    const busy = join(work, 'busy');
    await rm(busy, { recursive: true, force: true });
    await berth(['backup', '--data-dir', b.dataDir, '--to', busy]);
    const again = await berth(['backup', '--data-dir', b.dataDir, '--to', busy]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not empty: a backup goes into a new or empty folder/);
    const before = (await readdir(b.dataDir)).sort();
    const over = await berth(['restore', '--from', busy, '--data-dir', b.dataDir]);
    assert.equal(over.code, 1);
    assert.match(over.stderr, /is not empty: restore goes into an empty data folder/);
    assert.deepEqual((await readdir(b.dataDir)).sort(), before);
    const notBackup = join(work, 'not-a-backup');
    await writeFile(join(work, 'x'), 'x');
    const bad = await berth(['restore', '--from', notBackup, '--data-dir', join(work, 'empty')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /holds no Berth backup/);
    const pg = await berth(['backup', '--data-dir', b.dataDir, '--to', join(work, 'pg')], { BERTH_METADATA__DRIVER: 'postgres' });
    assert.equal(pg.code, 1);
    assert.match(pg.stderr, /on PostgreSQL use pg_dump/);
    const both = await berth(['restore', '--from', busy, '--run', '1', '--data-dir', join(work, 'empty')]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /either --run .* or --from/);
  });
});
