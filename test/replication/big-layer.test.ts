/**
 * A 1 GiB layer replicated from a Berth process to docker-registry streams: the Berth
 * process's resident memory (VmRSS, sampled every 100 ms during the run) stays far below the
 * layer's size, and the copy's digest equals the source's.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, ok } from '../helpers/auth.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { startBerthProcess, type BerthProcess } from '../helpers/node-process.js';
import { eventually } from '../helpers/receiver.js';
import { missingTools } from '../helpers/tools.js';

const MiB = 1 << 20;
const SIZE = 1024 * MiB;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** 1 GiB of bytes that do not repeat within a MiB, generated twice (to hash, then to send) without being held. */
function* layer(seed: Buffer): Generator<Buffer> {
  for (let i = 0; i < SIZE / MiB; i++) {
    const chunk = Buffer.alloc(MiB, seed);
    chunk.writeUInt32BE(i, 0);
    yield chunk;
  }
}

describe('replication streams a 1 GiB layer', { skip: missingTools('docker-registry') }, () => {
  let b: BerthProcess;
  let dist: Distribution;
  before(async () => {
    dist = await startDistribution();
    b = await startBerthProcess({ env: { BERTH_AUTH__ENABLED: 'true', BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD, BERTH_JOBS__POLL_MS: '50', BERTH_DATA_DIR: `/tmp/berth-big-${process.pid}` } });
  });
  after(async () => {
    await b?.stop();
    await dist?.stop();
    await import('node:fs/promises').then((fs) => fs.rm(`/tmp/berth-big-${process.pid}`, { recursive: true, force: true }));
  });

  it('keeps the server RSS bounded and the digest equal', { timeout: 240_000 }, async () => {
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'big', public: false }));
    const seed = randomBytes(4096);
    const hash = createHash('sha256');
    for (const c of layer(seed)) hash.update(c);
    const digest = `sha256:${hash.digest('hex')}`;
    const gen = layer(seed);
    const body = new ReadableStream<Uint8Array>({ pull: (ctl) => { const n = gen.next(); if (n.done) ctl.close(); else ctl.enqueue(n.value); } });
    const up = await fetch(`${b.url}/v2/big/layer/blobs/uploads/?digest=${digest}`, { method: 'POST', body, duplex: 'half', headers: { Authorization: ADMIN, 'Content-Type': 'application/octet-stream', 'Content-Length': String(SIZE) } } as RequestInit);
    assert.equal(up.status, 201, await up.text());
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const c = await fetch(`${b.url}/v2/big/layer/blobs/uploads/?digest=sha256:${createHash('sha256').update(config).digest('hex')}`, { method: 'POST', body: new Uint8Array(config), headers: { Authorization: ADMIN, 'Content-Type': 'application/octet-stream' } });
    assert.equal(c.status, 201);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${createHash('sha256').update(config).digest('hex')}`, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: SIZE }] }));
    const m = await fetch(`${b.url}/v2/big/layer/manifests/v1`, { method: 'PUT', body: new Uint8Array(manifest), headers: { Authorization: ADMIN, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 201);

    await ok(api(b.url, 'POST', '/replication/targets', ADMIN, { name: 'dist', url: dist.url }));
    await ok(api(b.url, 'POST', '/replication/policies', ADMIN, { name: 'big', target: 'dist', direction: 'push', repositories: ['big/**'], trigger: 'manual' }));
    const baseline = rssBytes(b.proc.pid!);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(b.proc.pid!))), 100);
    try {
      const { id } = await ok(api(b.url, 'POST', '/replication/policies/big/runs', ADMIN));
      const run = await eventually(async () => {
        const r = await ok(api(b.url, 'GET', `/replication/runs/${id}`, ADMIN));
        return r.status !== 'queued' && r.status !== 'running' && r;
      }, 200_000, 'the 1 GiB run');
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      assert.equal(run.summary.bytesSent, SIZE + config.length);
    } finally {
      clearInterval(sampler);
    }
    const grew = peak - baseline;
    assert.ok(grew < 150 * MiB, `RSS grew by ${(grew / MiB).toFixed(0)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB)`);
    const head = await fetch(`${dist.url}/v2/big/layer/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(SIZE));
    const mh = await fetch(`${dist.url}/v2/big/layer/manifests/v1`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(mh.headers.get('docker-content-digest'), `sha256:${createHash('sha256').update(manifest).digest('hex')}`);
    console.log(`# 1 GiB layer: Berth RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB during the run`);
  });
});
