/**
 * Graceful shutdown of a real `berth serve`: on SIGTERM an upload still sending its body is
 * cut once `shutdown.graceSeconds` has passed, the process exits cleanly, and after a restart
 * the upload is still there: it resumes from its last durable offset and completes with the
 * right digest.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, startBerthProcess } from '../helpers/node-process.js';
import { bytes, randomBlob, sha256 } from '../helpers/oci.js';

test('SIGTERM cuts a stalled upload after the grace period and leaves it resumable', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-shutdown-'));
  const port = await freePort();
  const env = { BERTH_SHUTDOWN__GRACE_SECONDS: '1', BERTH_LIFECYCLE__SCHEDULER_ENABLED: 'false' };
  let p = await startBerthProcess({ port, args: ['--data-dir', dir], env });
  try {
    const blob = randomBlob(200_000);
    const start = await fetch(`${p.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = new URL(start.headers.get('location')!, p.url).toString();

    // A PATCH that sends the first 64 KiB and then stalls, its body unfinished.
    const first = blob.subarray(0, 65_536);
    const req = request(location, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.length), 'Content-Range': `0-${blob.length - 1}` } });
    req.on('error', () => {});
    const answered = new Promise<string>((resolve) => {
      req.on('response', (res) => resolve(`answered ${res.statusCode}`));
      req.on('close', () => resolve('closed'));
    });
    req.write(first);
    await new Promise((r) => setTimeout(r, 500));

    const t0 = Date.now();
    const exited = p.stop();
    assert.equal(await exited, 0, `clean exit:\n${p.output()}`);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 10_000, `the stalled request got the grace period, no more (${took} ms)`);
    assert.match(await answered, /closed|answered/);

    // Restarted on the same data folder, the upload is still open and completes.
    p = await startBerthProcess({ port, args: ['--data-dir', dir], env });
    const status = await fetch(location);
    assert.equal(status.status, 204, 'the upload session survived the shutdown');
    const range = status.headers.get('range') ?? '0-0';
    // `0-0` is an empty upload (the header cannot say one byte; nothing here is that short).
    const offset = range === '0-0' ? 0 : Number(range.split('-')[1]) + 1;
    assert.ok(offset <= first.length, `durable offset ${offset} is at most what was sent`);
    const rest = blob.subarray(offset);
    const patch = await fetch(location, { method: 'PATCH', body: bytes(rest), headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${blob.length - 1}` } });
    assert.equal(patch.status, 202, await patch.text());
    const done = await fetch(`${new URL(patch.headers.get('location')!, p.url)}${patch.headers.get('location')!.includes('?') ? '&' : '?'}digest=${sha256(blob)}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const back = Buffer.from(await (await fetch(`${p.url}/v2/team/app/blobs/${sha256(blob)}`)).arrayBuffer());
    assert.equal(sha256(back), sha256(blob));
  } finally {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
