/**
 * Throughput of one large chunked blob push (POST, PATCH chunks, PUT ?digest=) and of pulling
 * it back, on the filesystem store and on S3 (the Ceph RGW of scripts/ceph-rgw.sh, started if
 * needed). Usage: `node dist/bench/chunked-push.js [MiB=256] [chunk MiB=8] [S3 part MiB=16]`.
 */
import { createHash } from 'node:crypto';
import { startBerth, type TestBerth } from '../test/helpers/berth.js';
import { randomBlob } from '../test/helpers/oci.js';
import { testStorage } from '../test/helpers/storage.js';

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const chunk = Number(process.argv[3] ?? 8) * MiB;
const partSize = Number(process.argv[4] ?? 16) * MiB;

async function push(url: string, repo: string, data: Buffer): Promise<{ patchMs: number; finishMs: number }> {
  const t0 = performance.now();
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  let location = new URL(start.headers.get('location')!, url).href;
  for (let off = 0; off < data.length; off += chunk) {
    const part = data.subarray(off, off + chunk);
    const r = await fetch(location, {
      method: 'PATCH',
      body: part as unknown as BodyInit,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${off}-${off + part.length - 1}` },
    });
    if (r.status !== 202) throw new Error(`PATCH ${r.status} ${await r.text()}`);
    location = new URL(r.headers.get('location')!, url).href;
  }
  const t1 = performance.now();
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const done = await fetch(`${location}?digest=${digest}`, { method: 'PUT' });
  if (done.status !== 201) throw new Error(`PUT ${done.status} ${await done.text()}`);
  return { patchMs: t1 - t0, finishMs: performance.now() - t1 };
}

async function pull(url: string, repo: string, data: Buffer): Promise<number> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const t0 = performance.now();
  const r = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
  let n = 0;
  for await (const c of r.body!) n += (c as Uint8Array).length;
  if (n !== data.length) throw new Error(`pulled ${n} bytes`);
  return performance.now() - t0;
}

const rate = (bytes: number, ms: number) => `${((bytes / MiB) * 1000 / ms).toFixed(0)} MiB/s`;

const data = randomBlob(total, 0.5);
for (const kind of ['filesystem', 's3'] as const) {
  const storage = await testStorage(kind, { partSizeBytes: partSize });
  const berth: TestBerth = await startBerth(storage ? { storage: storage.storage } : { storage: { driver: 'filesystem', filesystem: {} } });
  try {
    const { patchMs, finishMs } = await push(berth.url, 'bench/big', data);
    const pullMs = await pull(berth.url, 'bench/big', data);
    console.log(
      `${kind.padEnd(10)} push ${total / MiB} MiB in ${chunk / MiB} MiB chunks: ${rate(total, patchMs + finishMs)} ` +
        `(PATCHes ${(patchMs / 1000).toFixed(2)} s, finish ${(finishMs / 1000).toFixed(2)} s); pull ${rate(total, pullMs)}`,
    );
  } finally {
    await berth.close();
    await storage?.cleanup();
  }
}
