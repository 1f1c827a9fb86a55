/**
 * Replication against real registries on loopback: the Debian `docker-registry` (CNCF
 * Distribution 2.8, no referrers API: the tag fallback) behind a proxy that can die, and a
 * second Berth process with token auth. A multi-arch image with a signature and an SBOM as
 * referrers arrives whole, digests equal (checked with skopeo); an event-triggered copy
 * arrives within 5 s; a target that dies mid-run fails the run clearly and a second run sends
 * only what is missing; pull brings content here; two sites replicating to each other stop
 * after one round.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { DyingProxy, startDistribution, type Distribution } from '../helpers/distribution.js';
import { startBerthProcess, type BerthProcess } from '../helpers/node-process.js';
import { randomBlob } from '../helpers/oci.js';
import { eventually } from '../helpers/receiver.js';
import { missingTools, run } from '../helpers/tools.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

async function blob(url: string, auth: string, repo: string, b: Buffer): Promise<{ digest: string; size: number }> {
  const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha(b)}`, { method: 'POST', body: new Uint8Array(b), headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201, await r.text());
  return { digest: sha(b), size: b.length };
}

async function manifest(url: string, auth: string, repo: string, ref: string | null, doc: unknown, mediaType: string): Promise<{ digest: string; size: number; mediaType: string }> {
  const body = Buffer.from(JSON.stringify(doc));
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref ?? sha(body)}`, { method: 'PUT', body: new Uint8Array(body), headers: { Authorization: auth, 'Content-Type': mediaType } });
  assert.equal(r.status, 201, await r.text());
  return { digest: sha(body), size: body.length, mediaType };
}

async function image(url: string, auth: string, repo: string, ref: string | null, opts: { layerBytes?: number; platform?: string } = {}) {
  const config = await blob(url, auth, repo, Buffer.from(JSON.stringify({ architecture: opts.platform ?? 'amd64', os: 'linux', n: Math.random() })));
  const layer = await blob(url, auth, repo, randomBlob(opts.layerBytes ?? 1500));
  return manifest(url, auth, repo, ref, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] }, OCI_MANIFEST);
}

/** A two-platform index under `tag`, with a signature and an SBOM referring to it. */
async function multiArch(url: string, auth: string, repo: string, tag: string) {
  const amd = await image(url, auth, repo, null, { platform: 'amd64' });
  const arm = await image(url, auth, repo, null, { platform: 'arm64' });
  const index = await manifest(url, auth, repo, tag, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...amd, platform: { os: 'linux', architecture: 'amd64' } }, { ...arm, platform: { os: 'linux', architecture: 'arm64' } }] }, OCI_INDEX);
  const empty = await blob(url, auth, repo, Buffer.from('{}'));
  const referrer = async (artifactType: string, content: string) => {
    const layer = await blob(url, auth, repo, Buffer.from(content));
    return manifest(url, auth, repo, null, { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty }, layers: [{ mediaType: artifactType, ...layer }], subject: { mediaType: OCI_INDEX, digest: index.digest, size: index.size } }, OCI_MANIFEST);
  };
  const signature = await referrer('application/vnd.example.signature.v1+json', `signed ${index.digest}`);
  const sbom = await referrer('application/spdx+json', JSON.stringify({ spdxVersion: 'SPDX-2.3', name: repo }));
  return { index, children: [amd, arm], referrers: [signature, sbom] };
}

async function finished(url: string, auth: string, id: number, timeoutMs = 30_000): Promise<any> {
  return eventually(async () => {
    const r = await ok(api(url, 'GET', `/replication/runs/${id}`, auth));
    return r.status !== 'queued' && r.status !== 'running' && r;
  }, timeoutMs, `replication run ${id} to end`);
}

async function headDigest(url: string, auth: string | undefined, repo: string, ref: string): Promise<string | null> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { ...(auth ? { Authorization: auth } : {}), Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
  return r.status === 200 ? r.headers.get('docker-content-digest') : null;
}

describe('replication', { skip: missingTools('skopeo', 'docker-registry') }, () => {
  let a: TestBerth;
  let b: BerthProcess;
  let dist: Distribution;
  let proxy: DyingProxy;
  let content: Awaited<ReturnType<typeof multiArch>>;

  before(async () => {
    dist = await startDistribution();
    proxy = await new DyingProxy(Number(new URL(dist.url).port)).start();
    a = await startAuthBerth({ events: { pollMs: 50 }, jobs: { pollMs: 50, concurrency: 4 }, replication: { concurrency: 1 } });
    b = await startBerthProcess({ env: { BERTH_AUTH__ENABLED: 'true', BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD, BERTH_EVENTS__POLL_MS: '50', BERTH_JOBS__POLL_MS: '50', BERTH_DATA_DIR: `${a.dataDir}-site-b` } });
    await ok(api(a.url, 'POST', '/projects', ADMIN, { name: 'team', public: false }));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'team', public: false }));
    await ok(api(a.url, 'POST', '/replication/targets', ADMIN, { name: 'dist', url: proxy.url }));
    await ok(api(a.url, 'POST', '/replication/targets', ADMIN, { name: 'site-b', url: b.url, username: 'admin', password: ADMIN_PASSWORD }));
    await ok(api(a.url, 'POST', '/replication/policies', ADMIN, { name: 'to-dist', target: 'dist', direction: 'push', repositories: ['team/**'], tags: ['**'], trigger: 'manual' }));
    await ok(api(a.url, 'POST', '/replication/policies', ADMIN, { name: 'to-b', target: 'site-b', direction: 'push', repositories: ['team/**'], tags: ['**'], trigger: 'event' }));
  });
  after(async () => {
    await a?.close();
    await b?.stop();
    await proxy?.stop();
    await dist?.stop();
    await run('rm', ['-rf', `${a?.dataDir}-site-b`]).catch(() => {});
  });

  it('copies a pushed multi-arch image with its referrers to a token-auth Berth within 5 s of the push', async () => {
    // Site B asks for Docker token auth.
    const challenge = await fetch(`${b.url}/v2/team/app/manifests/v1`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    const t0 = Date.now();
    content = await multiArch(a.url, ADMIN, 'team/app', 'v1');
    const acked = Date.now();
    await eventually(async () => (await headDigest(b.url, ADMIN, 'team/app', 'v1')) === content.index.digest, 5000, 'the index on site B').catch(async (e) => {
      const p = await ok(api(a.url, 'GET', '/replication/policies/to-b', ADMIN));
      for (const r of p.runs) console.log('DEBUG', JSON.stringify(await ok(api(a.url, 'GET', `/replication/runs/${r.id}`, ADMIN))));
      throw e;
    });
    const arrived = Date.now() - acked;
    assert.ok(arrived < 5000, `arrived ${arrived} ms after the push (${acked - t0} ms to push)`);
    // Children and referrers: through site B's referrers API, same digests.
    const refs = await eventually(async () => {
      const r = await fetch(`${b.url}/v2/team/app/referrers/${content.index.digest}`, { headers: { Authorization: ADMIN } });
      const doc = (await r.json()) as { manifests: { digest: string }[] };
      return doc.manifests.length === 2 && doc.manifests;
    }, 5000, 'both referrers on site B');
    assert.deepEqual(refs.map((m) => m.digest).sort(), content.referrers.map((r) => r.digest).sort());
    for (const c of content.children) assert.equal(await headDigest(b.url, ADMIN, 'team/app', c.digest), c.digest);
  });

  it('pushes by hand to docker-registry: digests equal (skopeo), referrers through the tag fallback', async () => {
    const { id } = await ok(api(a.url, 'POST', '/replication/policies/to-dist/runs', ADMIN));
    const r = await finished(a.url, ADMIN, id);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.deepEqual(r.results.map((i: any) => [i.artifact, i.status, i.digest]), [['team/app:v1', 'copied', content.index.digest]]);
    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dist.host}/team/app:v1`]);
    assert.equal(sha(Buffer.from(raw.stdout)), content.index.digest);
    for (const c of content.children) {
      const child = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dist.host}/team/app@${c.digest}`]);
      assert.equal(sha(Buffer.from(child.stdout)), c.digest);
    }
    // Distribution 2.8 has no referrers API: the referrers are listed under the fallback tag.
    const fallback = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dist.host}/team/app:${content.index.digest.replace(':', '-')}`])).stdout);
    assert.deepEqual(fallback.manifests.map((m: any) => m.digest).sort(), content.referrers.map((x) => x.digest).sort());
    for (const ref of content.referrers) {
      const got = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dist.host}/team/app@${ref.digest}`]);
      assert.equal(sha(Buffer.from(got.stdout)), ref.digest);
    }
    // Run again: everything is there, nothing is sent.
    const again = await finished(a.url, ADMIN, (await ok(api(a.url, 'POST', '/replication/policies/to-dist/runs', ADMIN))).id);
    assert.equal(again.status, 'succeeded');
    assert.equal(again.results[0].status, 'skipped');
    assert.equal(again.summary.bytesSent, 0);
  });

  it('fails clearly when the target dies mid-run; the next run sends only what is missing', async () => {
    const MiB = 1 << 20;
    for (const tag of ['b1', 'b2', 'b3']) await image(a.url, ADMIN, 'team/big', tag, { layerBytes: 3 * MiB });
    proxy.dieAfter(7 * MiB); // two layers get through, the third is cut
    const first = await finished(a.url, ADMIN, (await ok(api(a.url, 'POST', '/replication/policies/to-dist/runs', ADMIN))).id);
    assert.equal(first.status, 'failed');
    assert.match(first.error, /artifacts failed: team\/big:b\d: /);
    assert.ok(first.results.some((i: any) => i.status === 'failed' && /ECONNREFUSED|ECONNRESET|socket hang up|EPIPE/.test(i.error)), JSON.stringify(first.results));
    await proxy.revive();
    const before = proxy.forwarded;
    const second = await finished(a.url, ADMIN, (await ok(api(a.url, 'POST', '/replication/policies/to-dist/runs', ADMIN))).id);
    assert.equal(second.status, 'succeeded', JSON.stringify(second));
    const sent = proxy.forwarded - before;
    // Only the missing layer (3 MiB, plus small configs and manifests) crossed the wire again.
    assert.deepEqual(second.results.map((i: any) => i.status).sort(), ['copied', 'skipped', 'skipped', 'skipped'], JSON.stringify(second.results));
    assert.ok(second.summary.bytesSent < 4 * MiB && sent < 4 * MiB, `sent ${sent} bytes: ${JSON.stringify(second.summary)}`);
    for (const tag of ['b1', 'b2', 'b3']) assert.equal(await headDigest(dist.url, undefined, 'team/big', tag), await headDigest(a.url, ADMIN, 'team/big', tag));
  });

  it('two sites replicating to each other stop after one round; pull copies there to here', async () => {
    // Site B pushes its team/** back to site A on every push.
    await ok(api(b.url, 'POST', '/replication/targets', ADMIN, { name: 'site-a', url: a.url, username: 'admin', password: ADMIN_PASSWORD }));
    await ok(api(b.url, 'POST', '/replication/policies', ADMIN, { name: 'to-a', target: 'site-a', direction: 'push', repositories: ['team/**'], tags: ['**'], trigger: 'event' }));
    const pushed = await image(a.url, ADMIN, 'team/loop', 'l1');
    // A -> B (event), then B -> A (event): A has the digest already, so nothing is written.
    const back = await eventually(async () => {
      const p = await ok(api(b.url, 'GET', '/replication/policies/to-a', ADMIN));
      const r = p.runs.find((x: any) => x.scope?.repository === 'team/loop' && x.status !== 'queued' && x.status !== 'running');
      return r && (await ok(api(b.url, 'GET', `/replication/runs/${r.id}`, ADMIN)));
    }, 10_000, 'site B to copy back');
    assert.equal(back.status, 'succeeded');
    assert.deepEqual(back.results.map((i: any) => [i.artifact, i.status]), [['team/loop:l1', 'skipped']]);
    await new Promise((r) => setTimeout(r, 1000)); // a loop would show by now
    const runsToB = (await ok(api(a.url, 'GET', '/replication/policies/to-b', ADMIN))).runs.filter((x: any) => x.scope?.repository === 'team/loop');
    assert.equal(runsToB.length, 1, JSON.stringify(runsToB));
    const pushes = (await a.berth.meta.events.after(0, 10_000)).filter((e) => e.type === 'artifact.pushed' && e.repository === 'team/loop');
    assert.equal(pushes.length, 1);
    assert.equal(await headDigest(b.url, ADMIN, 'team/loop', 'l1'), pushed.digest);

    // Pull: content pushed to site B only comes here.
    const there = await image(b.url, ADMIN, 'team/remote', 'p1');
    await ok(api(a.url, 'POST', '/replication/policies', ADMIN, { name: 'from-b', target: 'site-b', direction: 'pull', repositories: ['team/remote'], tags: ['p*'], trigger: 'manual' }));
    const pulled = await finished(a.url, ADMIN, (await ok(api(a.url, 'POST', '/replication/policies/from-b/runs', ADMIN))).id);
    assert.equal(pulled.status, 'succeeded', JSON.stringify(pulled));
    assert.equal(await headDigest(a.url, ADMIN, 'team/remote', 'p1'), there.digest);
  });

  it('checks policy input', async () => {
    assert.equal((await api(a.url, 'POST', '/replication/policies', ADMIN, { name: 'x', target: 'nope', direction: 'push', repositories: ['a'], trigger: 'manual' })).status, 400);
    assert.equal((await api(a.url, 'POST', '/replication/policies', ADMIN, { name: 'y', target: 'dist', direction: 'pull', repositories: ['a'], trigger: 'event' })).status, 400);
    assert.equal((await api(a.url, 'POST', '/replication/policies', ADMIN, { name: 'z', target: 'dist', direction: 'push', repositories: ['a'], trigger: 'cron', schedule: 'not cron' })).status, 400);
    assert.equal((await api(a.url, 'POST', '/replication/policies/nope/runs', ADMIN)).status, 404);
    assert.equal((await api(a.url, 'GET', '/replication/runs/999999', ADMIN)).status, 404);
    assert.equal((await api(a.url, 'DELETE', '/replication/targets/dist', ADMIN)).status, 409);
  });
});
