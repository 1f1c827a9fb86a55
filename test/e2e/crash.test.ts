/**
 * Crash safety: a real Berth process is killed with SIGKILL in the middle of a chunked upload
 * (while a PATCH body streams, while the final PUT body streams, right after a PATCH was
 * acknowledged), in the middle of a manifest PUT, and at random moments of concurrent pushes,
 * then restarted on the same data folder. After each restart: an upload reports exactly its
 * last acknowledged offset and can be resumed to the right digest, unfinished blobs are never
 * served, every acknowledged blob and manifest is there, and no reference dangles (checked over
 * HTTP and in the SQLite file opened read-only).
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { blobPath, checkConsistency, readMetadata } from '../helpers/consistency.js';
import { bytes, imageManifest, pushBlob, randomBlob, sha256 } from '../helpers/oci.js';
import { BerthProcess } from '../helpers/process.js';

const MiB = 1024 * 1024;

/** Sends the headers and `part` of a body, leaving the request open (the rest never comes). */
function partialRequest(url: string, method: string, headers: Record<string, string>, part: Buffer): { req: ClientRequest; outcome: Promise<string> } {
  const req = httpRequest(url, { method, headers });
  const outcome = new Promise<string>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(`response ${res.statusCode}`);
    });
    req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
  });
  req.flushHeaders();
  req.write(part);
  return { req, outcome };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('crash safety: SIGKILL and restart on the same data folder', { timeout: 120000 }, () => {
  let berth: BerthProcess;

  before(async () => {
    // The crash checks read the filesystem layout of the data folder.
    berth = await BerthProcess.start({ env: { BERTH_STORAGE__DRIVER: 'filesystem' } });
  });

  after(async () => {
    await berth?.dispose();
  });

  const uploadFile = (id: string) => join(berth.dataDir, 'storage', 'uploads', id);
  const fileSize = async (path: string) => (await stat(path).catch(() => undefined))?.size ?? -1;

  async function startUpload(repo: string): Promise<{ location: string; id: string }> {
    const r = await fetch(`${berth.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 202);
    const location = r.headers.get('location')!;
    return { location: new URL(location, berth.url).toString(), id: r.headers.get('docker-upload-uuid')! };
  }

  async function patch(location: string, data: Buffer, start: number): Promise<Response> {
    return fetch(location, {
      method: 'PATCH',
      body: bytes(data),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + data.length - 1}` },
    });
  }

  async function status(location: string): Promise<Response> {
    return fetch(location);
  }

  async function blobStatus(repo: string, digest: string): Promise<number> {
    return (await fetch(`${berth.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' })).status;
  }

  async function getBlob(repo: string, digest: string): Promise<Buffer> {
    const r = await fetch(`${berth.url}/v2/${repo}/blobs/${digest}`);
    assert.equal(r.status, 200, `GET ${repo} blob ${digest}`);
    return Buffer.from(await r.arrayBuffer());
  }

  async function finish(location: string, digest: string, last?: Buffer, start?: number): Promise<Response> {
    const u = new URL(location);
    u.searchParams.set('digest', digest);
    return fetch(u, {
      method: 'PUT',
      ...(last ? { body: bytes(last), headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start! + last.length - 1}` } } : {}),
    });
  }

  test('killed right after a PATCH was acknowledged: the offset survives and the upload resumes', async () => {
    const repo = 'crash/acked';
    const data = randomBlob(3 * MiB + 17, 0.11);
    const digest = sha256(data);
    const first = 1 * MiB + 5;
    const { location } = await startUpload(repo);
    const r = await patch(location, data.subarray(0, first), 0);
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), `0-${first - 1}`);

    await berth.restart(); // SIGKILL, then start on the same folder

    const s = await status(location);
    assert.equal(s.status, 204);
    assert.equal(s.headers.get('range'), `0-${first - 1}`, 'the acknowledged offset, exactly');
    assert.equal(await blobStatus(repo, digest), 404, 'an unfinished blob is not served');

    const r2 = await patch(location, data.subarray(first), first);
    assert.equal(r2.status, 202);
    assert.equal(r2.headers.get('range'), `0-${data.length - 1}`);
    const done = await finish(location, digest);
    assert.equal(done.status, 201, await done.text());
    assert.equal(done.headers.get('docker-content-digest'), digest);
    assert.deepEqual(await getBlob(repo, digest), data);
    await checkConsistency(berth.dataDir, berth.url);
  });

  test('killed while a PATCH body is still streaming: only acknowledged bytes count', async () => {
    const repo = 'crash/streaming';
    const data = randomBlob(1 * MiB + 333 + 4 * MiB + 1000, 0.22);
    const digest = sha256(data);
    const first = 1 * MiB + 333;
    const second = 4 * MiB;
    const { location, id } = await startUpload(repo);
    assert.equal((await patch(location, data.subarray(0, first), 0)).status, 202);

    // The second chunk declares 4 MiB but only 2.5 MiB are sent before the kill.
    const { req, outcome } = partialRequest(
      location,
      'PATCH',
      { 'Content-Type': 'application/octet-stream', 'Content-Length': String(second), 'Content-Range': `${first}-${first + second - 1}` },
      data.subarray(first, first + 2.5 * MiB),
    );
    // The server has written unacknowledged bytes past the offset: the crash lands mid-write.
    await waitFor('the server to write part of the streaming chunk', async () => (await fileSize(uploadFile(id))) > first);
    await berth.kill('SIGKILL');
    assert.match(await outcome, /^error/, 'the streaming PATCH was never acknowledged');
    req.destroy();
    await berth.restart();

    const s = await status(location);
    assert.equal(s.status, 204);
    assert.equal(s.headers.get('range'), `0-${first - 1}`, 'the last acknowledged offset, not what reached the disk');
    assert.equal(await blobStatus(repo, digest), 404);
    // The digest of the acknowledged prefix is not a finished blob either.
    assert.equal(await blobStatus(repo, sha256(data.subarray(0, first))), 404);

    // A chunk that does not start at the acknowledged offset is refused with where the upload stands.
    const wrong = await patch(location, data.subarray(first + 2.5 * MiB, first + second), first + 2.5 * MiB);
    assert.equal(wrong.status, 416);
    assert.equal(wrong.headers.get('range'), `0-${first - 1}`);

    const r2 = await patch(location, data.subarray(first, first + second), first);
    assert.equal(r2.status, 202);
    const done = await finish(location, digest, data.subarray(first + second), first + second);
    assert.equal(done.status, 201, await done.text());
    assert.deepEqual(await getBlob(repo, digest), data);
    await checkConsistency(berth.dataDir, berth.url);
  });

  test('killed while the final PUT body streams: no blob, the session stays at its offset', async () => {
    const repo = 'crash/final-put';
    const data = randomBlob(1 * MiB + 4 * MiB, 0.33);
    const digest = sha256(data);
    const first = 1 * MiB;
    const { location, id } = await startUpload(repo);
    assert.equal((await patch(location, data.subarray(0, first), 0)).status, 202);

    const u = new URL(location);
    u.searchParams.set('digest', digest);
    const { req, outcome } = partialRequest(
      u.toString(),
      'PUT',
      { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length - first), 'Content-Range': `${first}-${data.length - 1}` },
      data.subarray(first, first + 2 * MiB),
    );
    await waitFor('the server to write part of the final chunk', async () => (await fileSize(uploadFile(id))) > first);
    await berth.kill('SIGKILL');
    assert.match(await outcome, /^error/);
    req.destroy();
    await berth.restart();

    assert.equal(await blobStatus(repo, digest), 404, 'an unverified blob is never served');
    const rows = readMetadata(berth.dataDir, (db) => (db.prepare('SELECT count(*) AS n FROM blobs WHERE digest = ?').get(digest) as { n: number }).n);
    assert.equal(rows, 0, 'no blob row for the interrupted upload');
    const s = await status(location);
    assert.equal(s.status, 204);
    assert.equal(s.headers.get('range'), `0-${first - 1}`);
    const done = await finish(location, digest, data.subarray(first), first);
    assert.equal(done.status, 201, await done.text());
    assert.deepEqual(await getBlob(repo, digest), data);
    await checkConsistency(berth.dataDir, berth.url);
  });

  test('killed between storing a finished blob and recording it: the session ends cleanly, the blob can be pushed again', async () => {
    // The window between the blob store's rename and the metadata commit cannot be hit by a
    // timed kill reliably, so the test kills after an acknowledged PATCH and then puts the
    // upload's bytes where the commit's rename would have put them.
    const repo = 'crash/commit-window';
    const data = randomBlob(300000, 0.55);
    const digest = sha256(data);
    const { location, id } = await startUpload(repo);
    assert.equal((await patch(location, data, 0)).status, 202);
    await berth.kill('SIGKILL');
    const target = blobPath(berth.dataDir, digest);
    await mkdir(dirname(target), { recursive: true });
    await rename(uploadFile(id), target);
    await berth.restart();

    assert.equal(await blobStatus(repo, digest), 404, 'bytes without a metadata row are not served');
    const done = await finish(location, digest);
    assert.equal(done.status, 404, `finish after the crash: ${done.status} ${await done.clone().text()}`);
    assert.equal(((await done.json()) as { errors: { code: string }[] }).errors[0]!.code, 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await status(location)).status, 404, 'the dead session is gone');

    // The client starts over; the registry ends up with one verified copy.
    await pushBlob(berth.url, repo, data);
    assert.deepEqual(await getBlob(repo, digest), data);
    await checkConsistency(berth.dataDir, berth.url);
  });

  test('killed in the middle of a manifest PUT: nothing half-stored; an acknowledged manifest survives', async () => {
    const repo = 'crash/manifest';
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBlob(200000, 0.44);
    await pushBlob(berth.url, repo, config);
    await pushBlob(berth.url, repo, layer);
    // A large annotation makes the body long enough to be cut in the middle.
    const manifest = imageManifest(config, [layer], { annotations: { padding: 'p'.repeat(64 * 1024) } });
    const digest = sha256(manifest);

    const { req, outcome } = partialRequest(
      `${berth.url}/v2/${repo}/manifests/v1`,
      'PUT',
      { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': String(manifest.length) },
      manifest.subarray(0, manifest.length >> 1),
    );
    await new Promise((r) => setTimeout(r, 200));
    await berth.kill('SIGKILL');
    assert.match(await outcome, /^error/);
    req.destroy();
    await berth.restart();

    for (const ref of ['v1', digest]) {
      assert.equal((await fetch(`${berth.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD' })).status, 404, `${ref} after an interrupted PUT`);
    }
    // The blobs were acknowledged (201) before the crash.
    assert.equal(await blobStatus(repo, sha256(config)), 200);
    assert.deepEqual(await getBlob(repo, sha256(layer)), layer);

    const put = await fetch(`${berth.url}/v2/${repo}/manifests/v1`, { method: 'PUT', body: bytes(manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 201);
    await berth.restart(); // right after the acknowledgement
    const r = await fetch(`${berth.url}/v2/${repo}/manifests/v1`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), manifest);
    await checkConsistency(berth.dataDir, berth.url);
  });

  test('killed at random moments of concurrent pushes: every acknowledged write is there, nothing dangles', async () => {
    const acked = { blobs: [] as { repo: string; digest: string; data: Buffer }[], manifests: [] as { repo: string; tag: string; digest: string; body: Buffer }[] };
    let seq = 0;

    async function worker(w: number, round: number): Promise<void> {
      const repo = `crash/burst-${w}`;
      for (;;) {
        const n = seq++;
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n, w, round }));
        const layer = randomBlob(64 * 1024 + (n % 7) * 40000, n / 1000 + 0.001);
        await pushBlob(berth.url, repo, config);
        acked.blobs.push({ repo, digest: sha256(config), data: config });
        // The layer goes up in two chunks, like skopeo's and containerd's chunked pushes.
        const { location } = await startUpload(repo);
        const half = layer.length >> 1;
        if ((await patch(location, layer.subarray(0, half), 0)).status !== 202) throw new Error('patch');
        const done = await finish(location, sha256(layer), layer.subarray(half), half);
        if (done.status !== 201) throw new Error(`finish ${done.status}`);
        acked.blobs.push({ repo, digest: sha256(layer), data: layer });
        const body = imageManifest(config, [layer]);
        const tag = `r${round}-${n}`;
        const put = await fetch(`${berth.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: bytes(body), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
        if (put.status !== 201) throw new Error(`manifest ${put.status}`);
        acked.manifests.push({ repo, tag, digest: sha256(body), body });
      }
    }

    for (let round = 0; round < 3; round++) {
      const before = acked.manifests.length;
      const workers = [0, 1, 2, 3].map((w) => worker(w, round).catch((e: Error) => e));
      // Kill at a random moment once this round has made progress (a loaded machine is slow).
      await waitFor('a first acknowledged push of the round', async () => acked.manifests.length > before, 20000);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 250)));
      await berth.kill('SIGKILL');
      const ends = await Promise.all(workers);
      for (const e of ends) assert.ok(e instanceof Error, 'workers stop only when the server dies');
      await berth.restart();

      for (const b of acked.blobs) assert.equal(await blobStatus(b.repo, b.digest), 200, `acknowledged blob ${b.digest} in ${b.repo}`);
      for (const m of acked.manifests) {
        const r = await fetch(`${berth.url}/v2/${m.repo}/manifests/${m.tag}`);
        assert.equal(r.status, 200, `acknowledged manifest ${m.repo}:${m.tag}`);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), m.body);
      }
      const report = await checkConsistency(berth.dataDir, berth.url);
      assert.ok(report.manifests >= acked.manifests.length);
    }
    // Spot-check content of a few acknowledged blobs byte for byte.
    for (const b of acked.blobs.slice(-4)) assert.deepEqual(await getBlob(b.repo, b.digest), b.data);
    assert.doesNotMatch(berth.log, /"level":60/, berth.log);
  });
});
