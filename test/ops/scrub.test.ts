/**
 * Scrub against a real registry and the real `berth scrub` command beside a running server:
 * a clean store reports nothing; a byte flipped in a stored blob is found and quarantined (the
 * blob is then refused, never served with wrong bytes) and a deleted blob file is found; a
 * re-push repairs both. An interrupted run resumes where it stopped. Bad flags change nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ScrubReport } from '../../src/ops/scrub.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { blobPath } from '../helpers/consistency.js';
import { errorCode, pushBlob, pushImage, randomBlob, sha256, type ImageParts } from '../helpers/oci.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function berth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BERTH_CONFIG: '', BERTH_LOG_LEVEL: 'warn' }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function scrubJson(dataDir: string, ...extra: string[]): Promise<{ code: number; report: ScrubReport }> {
  const r = await berth(['scrub', '--data-dir', dataDir, '--json', ...extra]);
  assert.ok(r.code === 0 || r.code === 2, `berth scrub failed (${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as ScrubReport };
}

describe('scrub', () => {
  let b: TestBerth;
  let a: ImageParts;
  let c: ImageParts;
  before(async () => {
    b = await startBerth({ storage: { driver: 'filesystem', filesystem: {}, verifyReads: false } });
    a = await pushImage(b.url, 'team/a', 'v1', { layers: [randomBlob(200_000), randomBlob(50_000)] });
    c = await pushImage(b.url, 'team/c', 'v1', { layers: [randomBlob(30_000)] });
  });
  after(async () => {
    await b?.close();
  });

  it('reports nothing on a clean store', async () => {
    const { code, report } = await scrubJson(b.dataDir);
    assert.equal(code, 0);
    assert.deepEqual(report.problems, []);
    assert.equal(report.complete, true);
    assert.equal(report.blobs.checked, 5);
    assert.equal(report.blobs.bytes, a.config.length + 250_000 + c.config.length + 30_000);
    assert.equal(report.manifests.checked, 2);
    const scoped = await scrubJson(b.dataDir, '--repository', 'team/c');
    assert.deepEqual([scoped.report.blobs.checked, scoped.report.manifests.checked, scoped.report.problems.length], [2, 1, 0]);
  });

  it('finds a flipped byte and a deleted blob file, quarantines the corrupt blob, and a re-push repairs both', async () => {
    const corrupt = a.layers[0]!;
    const corruptDigest = sha256(corrupt);
    const missingDigest = sha256(c.layers[0]!);
    const file = blobPath(b.dataDir, corruptDigest);
    const damaged = Buffer.from(corrupt);
    damaged[1234] = damaged[1234]! ^ 0xff;
    await writeFile(file, damaged);
    await unlink(blobPath(b.dataDir, missingDigest));
    // Without scrub (and verifyReads off) the flipped byte would be served: same size, wrong bytes.
    const before = Buffer.from(await (await fetch(`${b.url}/v2/team/a/blobs/${corruptDigest}`)).arrayBuffer());
    assert.notEqual(sha256(before), corruptDigest);

    const { code, report } = await scrubJson(b.dataDir);
    assert.equal(code, 2, 'problems found: exit status 2');
    const byKind = Object.fromEntries(report.problems.map((p) => [p.kind, p]));
    assert.equal(report.problems.length, 2, JSON.stringify(report.problems));
    assert.equal(byKind.corrupt?.digest, corruptDigest);
    assert.deepEqual(byKind.corrupt?.referencedBy, [{ repository: 'team/a', manifest: a.digest }]);
    assert.equal(byKind.missing?.digest, missingDigest);
    assert.deepEqual(byKind.missing?.referencedBy, [{ repository: 'team/c', manifest: c.digest }]);
    // The damaged bytes were moved out, for inspection.
    const q = byKind.corrupt!.quarantinedTo!;
    assert.equal(q, join(b.dataDir, 'quarantine', 'sha256', corruptDigest.slice(7)));
    assert.deepEqual(await readFile(q), damaged);
    await assert.rejects(stat(file), /ENOENT/);

    // The corrupt blob is no longer served: an error, never wrong bytes.
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(`${b.url}/v2/team/a/blobs/${corruptDigest}`, { method });
      assert.equal(r.status, 404);
      if (method === 'GET') assert.equal(await errorCode(r), 'BLOB_UNKNOWN');
    }
    // Re-pushing the content repairs it.
    await pushBlob(b.url, 'team/a', corrupt);
    await pushBlob(b.url, 'team/c', c.layers[0]!);
    const repaired = Buffer.from(await (await fetch(`${b.url}/v2/team/a/blobs/${corruptDigest}`)).arrayBuffer());
    assert.equal(sha256(repaired), corruptDigest);
    const again = await scrubJson(b.dataDir);
    assert.equal(again.code, 0);
    assert.deepEqual(again.report.problems, []);
  });

  it('resumes an interrupted run where it stopped, and counts what it finds in the metrics', async () => {
    const stop = new AbortController();
    let seen = 0;
    const first = await b.berth.scrub.run({ restart: true, signal: stop.signal, onProgress: () => ++seen === 2 && stop.abort() });
    assert.equal(first.complete, false);
    assert.equal(first.blobs.checked, 2);
    const second = await b.berth.scrub.run({});
    assert.equal(second.complete, true);
    assert.ok(second.resumedAfter?.startsWith('sha256:'));
    assert.equal(second.blobs.checked, 3, 'only the blobs the first run had not reached');
    assert.equal(second.manifests.checked, 2);
    const third = await b.berth.scrub.run({});
    assert.equal(third.resumedAfter, null, 'a completed run leaves no position behind');
    assert.equal(third.blobs.checked, 5);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    const verified = Number(/^berth_scrub_verified_bytes_total (\d+)/m.exec(metrics)?.[1]);
    assert.equal(verified, first.blobs.bytes + second.blobs.bytes + third.blobs.bytes);
  });

  it('refuses bad flags with one line and a non-zero exit', async () => {
    const rate = await berth(['scrub', '--data-dir', b.dataDir, '--rate', 'fast']);
    assert.equal(rate.code, 1);
    assert.match(rate.stderr.trim(), /^berth: --rate must be a positive number/);
    assert.equal(rate.stderr.trim().split('\n').length, 1);
    const repo = await berth(['scrub', '--data-dir', b.dataDir, '--repository', 'Bad Name']);
    assert.equal(repo.code, 1);
    assert.match(repo.stderr, /--repository: "Bad Name" is not a valid repository name/);
    const nowhere = await berth(['scrub', '--data-dir', join(b.dataDir, 'nope')]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no Berth database at/);
  });
});
