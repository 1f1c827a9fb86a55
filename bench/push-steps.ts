/**
 * Server CPU per step of a small-image push, each step run alone many times (16 at once):
 * blob HEAD (absent), upload POST, monolithic PUT of a small blob after its POST, manifest PUT
 * (blobs present). Shows which request of a push costs what (bench/hot-path.ts measures the whole).
 * Usage: node dist/bench/push-steps.js [--no-auth]; BENCH_BERTH_ENV as in hot-path.ts.
 */
import { randomBytes } from 'node:crypto';
import { RegistryClient, forEachConcurrent } from './client.js';
import { sha256 } from '../test/helpers/oci.js';
import { smallImage } from './payload.js';
import { parseSettings, startBerth, startBerthWithAccess } from './servers.js';
import { treeCpuSeconds } from './workers.js';

const noAuth = process.argv.includes('--no-auth');
const n = Number(process.env.BENCH_STEPS ?? 2000);
const env = {
  // The upload POST step leaves thousands of sessions open (the defaults allow 1,000).
  BERTH_REGISTRY__MAX_OPEN_UPLOADS_PER_REPOSITORY: '100000',
  BERTH_REGISTRY__MAX_OPEN_UPLOADS_PER_PRINCIPAL: '100000',
  ...parseSettings(process.env.BENCH_BERTH_ENV),
};
const registry = noAuth ? await startBerth('info', { workers: 1, auth: false, env }) : await startBerthWithAccess('info', { workers: 1, env });
const client = new RegistryClient(registry);
const repo = 'bench/steps';
/** Requests of each kind sent untimed first (items n..n+WARM-1). */
const WARM = 1000;
async function step(name: string, fn: (i: number) => Promise<unknown>): Promise<void> {
  // The first thousand or so requests of a kind run while V8 still compiles and optimizes
  // their code (several times the warm cost): an untimed round first, so each line is the warm cost.
  await forEachConcurrent(Array.from({ length: WARM }, (_, i) => n + i), 16, async (i) => void (await fn(i)));
  const items = Array.from({ length: n }, (_, i) => i);
  const cpu0 = treeCpuSeconds(registry.pid);
  const t = performance.now();
  await forEachConcurrent(items, 16, async (i) => void (await fn(i)));
  const secs = (performance.now() - t) / 1000;
  console.log(`${name.padEnd(28)} ${((treeCpuSeconds(registry.pid) - cpu0) * 1e6 / n).toFixed(0).padStart(6)} µs CPU/op  ${(n / secs).toFixed(0).padStart(6)} ops/s`);
}
try {
  await client.pushSmallImage(repo, 'warm', smallImage(0, 'steps'));
  const blobs = Array.from({ length: n + WARM }, () => randomBytes(4096));
  await step('blob HEAD (absent)', (i) => client.blobExists(repo, sha256(blobs[i]!), true));
  await step('upload POST', () => client.startUpload(repo));
  await step('upload POST + PUT 4 KiB', (i) => client.pushBlobAfterPost(repo, blobs[i]!));
  const images = Array.from({ length: n + WARM }, (_, i) => smallImage(i + 1, 'steps'));
  await forEachConcurrent(images, 16, async (img) => {
    for (const b of img.blobs) if (!(await client.blobExists(repo, sha256(b), true))) await client.pushBlobAfterPost(repo, b);
  });
  await step('manifest PUT (blobs present)', (i) => client.putManifest(repo, `t-${i}`, images[i]!.manifest));
  await step('blob HEAD (present)', (i) => client.blobExists(repo, sha256(blobs[i]!), true));
} finally {
  await client.close();
  await registry.stop();
}
