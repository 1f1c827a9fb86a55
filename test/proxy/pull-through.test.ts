/**
 * The pull-through cache end to end, with real upstreams on loopback: Distribution behind a
 * counting proxy (which also damages bytes on request and is killed and restarted), the same
 * with htpasswd Basic auth, and a second Berth process with token auth. Clients are skopeo
 * and plain HTTP. One cache server for the whole file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { RepoName } from '../../src/domain/names.js';
import { SqlProxyUpstreams } from '../../src/metadata/sql/proxy-cache.js';
import type { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { randomBlob, sha256, sha256OfBody } from '../helpers/oci.js';
import { BerthProcess } from '../helpers/process.js';
import { missingTools, run } from '../helpers/tools.js';
import { initLayout, umociImage } from '../helpers/layout.js';
import { pushBlobTo, seedImage, seedIndex, type SeededImage } from './seed.js';
import { CountingProxy, startDistribution, type Distribution } from './upstreams.js';

const MiB = 1024 * 1024;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
const ADMIN_PASSWORD = 'central-admin-pw-1';
const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

function skopeo(...args: string[]) {
  // --preserve-digests: the test layers are not gzip, and skopeo would otherwise rewrite their media types.
  const extra = args[0] === 'copy' ? ['--preserve-digests'] : [];
  return run('skopeo', ['--insecure-policy', args[0]!, ...extra, ...args.slice(1)], { timeoutMs: 120_000 });
}


describe('pull-through cache', { skip: missingTools('skopeo', 'docker-registry', 'podman', 'umoci'), timeout: 300_000 }, () => {
  let plain: Distribution;
  let counting: CountingProxy;
  let secured: Distribution;
  let central: BerthProcess;
  let cache: TestBerth;
  let work: string;
  let app: SeededImage;
  // Fresh names per run: skopeo's blob-info cache outlives the test and remembers repositories.
  const ns = `p${Date.now().toString(36)}`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-proxy-'));
    plain = await startDistribution();
    counting = await CountingProxy.start(plain.url);
    secured = await startDistribution({ htpasswd: { user: 'alice', password: 's3cret' } });
    central = await BerthProcess.start({ env: { BERTH_AUTH__ENABLED: 'true', BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    app = await seedImage(plain.url, `${ns}/app`, 'v1');
    cache = await startBerth({
      proxy: {
        defaultMirror: 'hub',
        downBackoffSeconds: 1,
        upstreams: [
          { name: 'hub', url: counting.url, mirrorOf: ['docker.io'], tagTtlSeconds: 2, timeoutSeconds: 5 },
          { name: 'secure', url: secured.url, username: 'alice', password: 's3cret' },
          { name: 'badauth', url: secured.url, username: 'alice', password: 'wrong' },
          { name: 'central', url: central.url, username: 'admin', password: ADMIN_PASSWORD },
          { name: 'small', url: counting.url, cacheMaxBytes: 250_000 },
          // About 1.7 s: old enough to evict within the test.
          { name: 'aged', url: counting.url, cacheMaxAgeDays: 0.00002 },
          { name: 'limited', url: counting.url },
        ],
      },
    });
  });

  after(async () => {
    await cache?.close();
    await central?.dispose();
    await counting?.close();
    await plain?.dispose();
    await secured?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo pulls by tag and by digest; the second pull is served from the cache', async () => {
    const out = join(work, 'app');
    await skopeo('copy', '--src-tls-verify=false', `docker://${cache.host}/hub/${ns}/app:v1`, `oci:${out}:v1`);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(index.manifests[0]!.digest, app.digest, 'the manifest pulled is the upstream one');
    for (const d of app.blobs) {
      assert.equal(sha256(await readFile(join(out, 'blobs', 'sha256', d.slice(7)))), d, `blob ${d} arrived intact`);
      assert.equal(counting.count('GET', `/blobs/${d}`), 1, 'one upstream GET per blob');
    }
    const manifestGets = counting.count('GET', `/${ns}/app/manifests/v1`);
    assert.equal(manifestGets, 1);

    const again = join(work, 'app-digest');
    await skopeo('copy', '--src-tls-verify=false', `docker://${cache.host}/hub/${ns}/app@${app.digest}`, `oci:${again}:x`);
    for (const d of app.blobs) assert.equal(counting.count('GET', `/blobs/${d}`), 1, 'the blobs came from the cache');
    assert.equal(counting.count('GET', `/manifests/${app.digest}`), 0, 'the digest was cached with the tag');

    const r = await fetch(`${cache.url}/v2/hub/${ns}/app/blobs/${app.blobs[1]}`);
    assert.equal(r.headers.get('x-berth-proxy'), 'hit');
    assert.equal((await sha256OfBody(r.body)).digest, app.blobs[1]);
    const stats = cache.berth.proxy.stats.of('hub');
    assert.ok(stats.blobHits >= 1 && stats.blobMisses >= 3 && stats.bytesFromUpstream > 0);
  });

  test('an index is cached with only the platform that was pulled', async () => {
    const multi = await seedIndex(plain.url, `${ns}/multi`, 'latest', ['amd64', 'arm64']);
    const out = join(work, 'multi');
    await skopeo('copy', '--src-tls-verify=false', '--override-os', 'linux', '--override-arch', 'arm64', `docker://${cache.host}/hub/${ns}/multi:latest`, `oci:${out}:x`);
    const arm = multi.children.arm64!;
    const amd = multi.children.amd64!;
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(index.manifests[0]!.digest, arm.digest);
    assert.equal(counting.count('GET', `/manifests/${arm.digest}`), 1);
    assert.equal(counting.count('GET', `/manifests/${amd.digest}`), 0, 'the other platform was not fetched');
    for (const d of amd.blobs) assert.equal(counting.count('GET', `/blobs/${d}`), 0);
    const repo = `hub/${ns}/multi` as RepoName;
    assert.equal((await cache.berth.proxy.cache.get(repo, 'latest'))?.digest, multi.digest);
    assert.equal(await cache.berth.proxy.cache.get(repo, amd.digest), undefined);
  });

  test('mirror requests: ?ns= picks the upstream that mirrors it; bare paths go to the default mirror unless the project is local', async () => {
    const viaNs = await fetch(`${cache.url}/v2/${ns}/app/manifests/v1?ns=docker.io`, { headers: { accept: ACCEPT } });
    assert.equal(viaNs.status, 200);
    assert.equal(viaNs.headers.get('docker-content-digest'), app.digest);
    await viaNs.arrayBuffer();

    const bare = await fetch(`${cache.url}/v2/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(bare.status, 200, 'a path whose first segment is no local project is served by the default mirror');
    assert.equal(bare.headers.get('docker-content-digest'), app.digest);
    await bare.arrayBuffer();

    // skopeo against the bare path, as Docker's registry-mirrors would send it.
    const out = join(work, 'bare');
    await skopeo('copy', '--src-tls-verify=false', `docker://${cache.host}/${ns}/app:v1`, `oci:${out}:v1`);

    // A local project with the same repository path is served locally, not from the mirror.
    const local = await seedImage(cache.url, `${ns}/app`.replace(/^/, 'local-'), 'v1');
    const mine = await fetch(`${cache.url}/v2/local-${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(mine.status, 200);
    assert.equal(mine.headers.get('docker-content-digest'), local.digest);
    assert.equal(mine.headers.get('x-berth-proxy'), null);
    await mine.arrayBuffer();

    const other = await fetch(`${cache.url}/v2/${ns}/app/manifests/v1?ns=quay.io`, { headers: { accept: ACCEPT } });
    assert.equal(other.status, 404, 'a registry no upstream mirrors is not proxied');
    await other.arrayBuffer();
  });

  test('pushes to a proxy project are refused with DENIED; the same instance takes pushes elsewhere', async () => {
    const start = await fetch(`${cache.url}/v2/hub/${ns}/mine/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 403);
    const body = (await start.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]!.code, 'DENIED');
    assert.match(body.errors[0]!.message, /read-only pull-through cache/);
    const put = await fetch(`${cache.url}/v2/hub/${ns}/app/manifests/v2`, { method: 'PUT', body: app.manifest as unknown as BodyInit, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 403);
    await put.arrayBuffer();
    const del = await fetch(`${cache.url}/v2/hub/${ns}/app/manifests/${app.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 403);
    await del.arrayBuffer();
    await assert.rejects(skopeo('copy', '--dest-tls-verify=false', `oci:${join(work, 'app')}:v1`, `docker://${cache.host}/hub/${ns}/pushed:v1`), /denied|read-only/i);
    await seedImage(cache.url, `elsewhere-${ns}/app`, 'v1');
  });

  test('single flight: 16 concurrent pulls of one cold 256 MiB blob make one upstream GET and all get the right bytes', async () => {
    const block = randomBlob(MiB);
    const big = Buffer.concat([...Array.from({ length: 255 }, () => block), randomBlob(MiB)]);
    const digest = await pushBlobTo(plain.url, `${ns}/big`, big);
    const t0 = performance.now();
    let firstByte = Infinity;
    const results = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const r = await fetch(`${cache.url}/v2/hub/${ns}/big/blobs/${digest}`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-length'), String(big.length));
        const reader = r.body!;
        const h = createHash('sha256');
        let size = 0;
        for await (const chunk of reader as unknown as AsyncIterable<Uint8Array>) {
          if (size === 0) firstByte = Math.min(firstByte, performance.now() - t0);
          h.update(chunk);
          size += chunk.byteLength;
        }
        return { digest: `sha256:${h.digest('hex')}`, size };
      }),
    );
    for (const r of results) assert.deepEqual(r, { digest, size: big.length });
    assert.equal(counting.count('GET', `/blobs/${digest}`), 1, 'exactly one upstream GET');
    console.log(`# 16 x 256 MiB cold: first byte after ${firstByte.toFixed(0)} ms, all done in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  test('an upstream that sends wrong or short bytes: the client connection fails, nothing is stored, a later pull is right', async () => {
    for (const fault of ['corrupt', 'truncate'] as const) {
      const blob = randomBlob(4 * MiB);
      const digest = await pushBlobTo(plain.url, `${ns}/faulty`, blob);
      counting.faults.set(digest, fault);
      const r = await fetch(`${cache.url}/v2/hub/${ns}/faulty/blobs/${digest}`);
      assert.equal(r.status, 200, 'the first bytes were streamed before the fault');
      await assert.rejects(sha256OfBody(r.body), `${fault}: the body fails instead of completing`);
      await sleep(100);
      assert.equal(await cache.berth.meta.blobs.get(digest as never), undefined, `${fault}: nothing was stored`);
      counting.faults.delete(digest);
      // The failure marked the upstream down for a moment (1 s back-off).
      await sleep(1100);
      const ok = await fetch(`${cache.url}/v2/hub/${ns}/faulty/blobs/${digest}`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await sha256OfBody(ok.body), { digest, size: blob.length });
      assert.equal(counting.count('GET', `/blobs/${digest}`), 2);
    }
    assert.ok(cache.berth.proxy.stats.of('hub').verifyFailures >= 2);
  });

  test('a tag moved upstream is seen after tagTtlSeconds, not before', async () => {
    const first = await seedImage(plain.url, `${ns}/moving`, 'v1');
    const get = async () => {
      const r = await fetch(`${cache.url}/v2/hub/${ns}/moving/manifests/v1`, { headers: { accept: ACCEPT } });
      await r.arrayBuffer();
      assert.equal(r.status, 200);
      return { digest: r.headers.get('docker-content-digest'), how: r.headers.get('x-berth-proxy') };
    };
    assert.deepEqual(await get(), { digest: first.digest, how: 'miss' });
    const second = await seedImage(plain.url, `${ns}/moving`, 'v1');
    assert.deepEqual(await get(), { digest: first.digest, how: 'hit' }, 'within the TTL the cached digest is served');
    await sleep(2100);
    assert.deepEqual(await get(), { digest: second.digest, how: 'miss' }, 'after the TTL the move is seen');
    assert.equal(counting.count('HEAD', `/${ns}/moving/manifests/v1`), 1, 'revalidated with one HEAD');
    await sleep(2100);
    assert.deepEqual(await get(), { digest: second.digest, how: 'revalidated' }, 'an unchanged tag costs a HEAD, not a GET');
    assert.equal(counting.count('GET', `/${ns}/moving/manifests/v1`), 2);
  });

  test('upstream killed: cached pulls still work (marked stale), uncached ones fail naming the upstream, and it comes back without a restart', async () => {
    await plain.kill();
    await sleep(2100); // past the tag TTL, so the tag needs revalidating
    const r = await fetch(`${cache.url}/v2/hub/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-berth-proxy'), 'stale');
    assert.match(r.headers.get('warning') ?? '', /^110 .*stale.*hub/);
    await r.arrayBuffer();
    await skopeo('copy', '--src-tls-verify=false', `docker://${cache.host}/hub/${ns}/app:v1`, `oci:${join(work, 'stale')}:v1`);

    const missing = await fetch(`${cache.url}/v2/hub/${ns}/never/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(missing.status, 503);
    const err = (await missing.json()) as { errors: { code: string; message: string; detail: { upstream: string } }[] };
    assert.equal(err.errors[0]!.code, 'UNAVAILABLE');
    assert.equal(err.errors[0]!.detail.upstream, 'hub');
    assert.match(err.errors[0]!.message, /upstream hub/);
    const health = cache.berth.proxy.upstreams.get('hub')!.health();
    assert.equal(health.up, false, 'the failing upstream is remembered as down');

    await plain.start();
    const fresh = await seedImage(plain.url, `${ns}/fresh`, 'v1');
    await sleep(1100);
    const back = await fetch(`${cache.url}/v2/hub/${ns}/fresh/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(back.status, 200);
    assert.equal(back.headers.get('docker-content-digest'), fresh.digest);
    await back.arrayBuffer();
  });

  test('upstreams with Basic auth (htpasswd) and with the token flow (a Berth); wrong credentials are DENIED', async () => {
    const secImage = await seedImage(secured.url, `${ns}/app`, 'v1', { headers: basic('alice', 's3cret') });
    await skopeo('copy', '--src-tls-verify=false', `docker://${cache.host}/secure/${ns}/app:v1`, `oci:${join(work, 'secure')}:v1`);
    const r = await fetch(`${cache.url}/v2/secure/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(r.headers.get('docker-content-digest'), secImage.digest);
    await r.arrayBuffer();

    const bad = await fetch(`${cache.url}/v2/badauth/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(bad.status, 403);
    const err = (await bad.json()) as { errors: { code: string; detail: { upstream: string } }[] };
    assert.equal(err.errors[0]!.code, 'DENIED');
    assert.equal(err.errors[0]!.detail.upstream, 'badauth');

    const project = await fetch(`${central.url}/api/v1/projects`, { method: 'POST', headers: { ...basic('admin', ADMIN_PASSWORD), 'content-type': 'application/json' }, body: JSON.stringify({ name: ns, public: false }) });
    assert.equal(project.status, 201, await project.text());
    const centralImage = await seedImage(central.url, `${ns}/app`, 'v1', { headers: basic('admin', ADMIN_PASSWORD) });
    const unauth = await fetch(`${central.url}/v2/${ns}/app/manifests/v1`);
    assert.equal(unauth.status, 401, 'the central Berth requires a token');
    assert.match(unauth.headers.get('www-authenticate') ?? '', /^Bearer /);
    await unauth.arrayBuffer();
    await skopeo('copy', '--src-tls-verify=false', `docker://${cache.host}/central/${ns}/app:v1`, `oci:${join(work, 'central')}:v1`);
    const c = await fetch(`${cache.url}/v2/central/${ns}/app/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(c.headers.get('docker-content-digest'), centralImage.digest);
    await c.arrayBuffer();
    // One bearer token for the repository's pull scope served every request (manifest, blobs).
    const client = cache.berth.proxy.upstreams.get('central')!;
    assert.ok(client.requests > 4, `${client.requests} requests`);
    assert.equal(client.tokenRequests, 1, 'the token is cached until it expires');
  });

  test('the API lists each upstream with health, cache size and counters, never its password', async () => {
    const r = await fetch(`${cache.url}/api/v1/proxies`);
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.ok(!text.includes('s3cret') && !text.includes(ADMIN_PASSWORD), 'no password in the answer');
    const { items } = JSON.parse(text) as { items: { name: string; defaultMirror: boolean; hasPassword: boolean; health: { up: boolean }; cache: { bytes: number; blobs: number; manifests: number }; stats: { blobMisses: number; hitRatio: number | null } }[] };
    const hub = items.find((i) => i.name === 'hub')!;
    assert.equal(hub.defaultMirror, true);
    assert.equal(hub.health.up, true);
    assert.ok(hub.cache.bytes > 256 * MiB && hub.cache.blobs >= 4 && hub.cache.manifests >= 2, JSON.stringify(hub.cache));
    assert.ok(hub.stats.blobMisses > 0 && hub.stats.hitRatio! > 0);
    assert.equal(items.find((i) => i.name === 'secure')!.hasPassword, true);

    // The same counters in the Prometheus exposition.
    const metrics = await (await fetch(`${cache.url}/metrics`)).text();
    const value = (line: string): number => Number(metrics.split('\n').find((l) => l.startsWith(line))?.slice(line.length + 1));
    assert.equal(value('berth_proxy_events_total{upstream="hub",event="blobMisses"}'), cache.berth.proxy.stats.of('hub').blobMisses);
    assert.ok(value('berth_proxy_bytes_total{upstream="hub",source="upstream"}') > 256 * MiB, 'bytes from the upstream are exposed');
  });

  test('preheat fetches every platform of an image ahead of time, with progress; a bad reference is reported, not fatal', async () => {
    const pre = await seedIndex(plain.url, `${ns}/pre`, 'v1', ['amd64', 'arm64']);
    const r = await fetch(`${cache.url}/api/v1/proxies/hub/preheat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ references: [`${ns}/pre:v1`, `${ns}/absent:v1`] }) });
    assert.equal(r.status, 202);
    const { id } = (await r.json()) as { id: string };
    let p: { status: string; done: number; failed: number; blobs: number; bytes: number; errors: string[] } | undefined;
    for (let i = 0; i < 100; i++) {
      p = (await (await fetch(`${cache.url}/api/v1/proxies/hub/preheat/${id}`)).json()) as typeof p;
      if (p!.status === 'succeeded' || p!.status === 'failed') break;
      await sleep(200);
    }
    assert.equal(p!.status, 'succeeded', JSON.stringify(p));
    assert.equal(p!.done, 2);
    assert.equal(p!.failed, 1);
    assert.match(p!.errors[0]!, new RegExp(`${ns}/absent:v1`));
    assert.equal(p!.blobs, 6, 'config and two layers of each platform');
    for (const child of Object.values(pre.children)) {
      for (const d of child.blobs) {
        const b = await fetch(`${cache.url}/v2/hub/${ns}/pre/blobs/${d}`);
        assert.equal(b.headers.get('x-berth-proxy'), 'hit', 'preheated');
        await b.arrayBuffer();
        assert.equal(counting.count('GET', `/blobs/${d}`), 1);
      }
    }
    const bad = await fetch(`${cache.url}/api/v1/proxies/hub/preheat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ references: ['Not A Ref!'] }) });
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
  });

  test('eviction by size (least recently pulled first) and by age unlinks the evicted blobs', async () => {
    const pull = async (upstream: string, name: string, img: SeededImage) => {
      const m = await fetch(`${cache.url}/v2/${upstream}/${ns}/${name}/manifests/v1`, { headers: { accept: ACCEPT } });
      assert.equal(m.status, 200);
      await m.arrayBuffer();
      for (const d of img.blobs) await (await fetch(`${cache.url}/v2/${upstream}/${ns}/${name}/blobs/${d}`)).arrayBuffer();
      await sleep(20);
    };
    const held = (upstream: string, name: string, img: SeededImage) => cache.berth.meta.blobs.sizeInRepository(`${upstream}/${ns}/${name}` as RepoName, img.blobs[1] as never);
    const imgs: SeededImage[] = [];
    for (const n of ['e1', 'e2', 'e3']) imgs.push(await seedImage(plain.url, `${ns}/${n}`, 'v1', { layers: [randomBlob(100_000)] }));
    await pull('small', 'e1', imgs[0]!);
    await pull('small', 'e2', imgs[1]!);
    await pull('small', 'e3', imgs[2]!);
    await pull('small', 'e1', imgs[0]!); // e1 is now the most recently pulled; e2 the least
    await sleep(100);
    const r = await fetch(`${cache.url}/api/v1/proxies/small/evict`, { method: 'POST' });
    assert.equal(r.status, 200);
    const report = (await r.json()) as { manifestsEvicted: number; blobsUnlinked: number; bytesBefore: number; bytesAfter: number };
    assert.ok(report.bytesBefore > 250_000, JSON.stringify(report));
    assert.ok(report.bytesAfter <= 250_000, JSON.stringify(report));
    assert.equal(report.manifestsEvicted, 1);
    assert.equal(report.blobsUnlinked, 2);
    assert.equal(await held('small', 'e2', imgs[1]!), undefined, 'the least recently pulled image went');
    assert.ok((await held('small', 'e1', imgs[0]!)) !== undefined && (await held('small', 'e3', imgs[2]!)) !== undefined);
    // Pulled again, it simply flows from the upstream again.
    await pull('small', 'e2', imgs[1]!);
    assert.equal(await held('small', 'e2', imgs[1]!), 100_000);

    await pull('aged', 'e3', imgs[2]!);
    const early = (await (await fetch(`${cache.url}/api/v1/proxies/aged/evict`, { method: 'POST' })).json()) as { manifestsEvicted: number };
    assert.equal(early.manifestsEvicted, 0, 'younger than cacheMaxAgeDays');
    await sleep(1900);
    const late = (await (await fetch(`${cache.url}/api/v1/proxies/aged/evict`, { method: 'POST' })).json()) as { manifestsEvicted: number };
    assert.equal(late.manifestsEvicted, 1);
    assert.equal(await held('aged', 'e3', imgs[2]!), undefined);
  });

  test('upstreams added through the API: password stored sealed and never returned, pulls flow, delete stops them; configured ones stay', async () => {
    const img = await seedImage(secured.url, `${ns}/viaapi`, 'v1', { headers: basic('alice', 's3cret') });
    const post = (body: unknown) => fetch(`${cache.url}/api/v1/proxies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await post({ name: 'added', url: secured.url, username: 'alice', password: 's3cret', tagTtlSeconds: 60 });
    const text = await created.text();
    assert.equal(created.status, 201, text);
    assert.ok(!text.includes('s3cret'));
    assert.equal((JSON.parse(text) as { source: string; hasPassword: boolean }).source, 'api');
    const stored = await new SqlProxyUpstreams((cache.berth.meta as SqlMetadataStore).db).list();
    const mine = stored.find((u) => u.name === 'added')!;
    assert.match(mine.passwordSealed, /^sealed:v1:/);
    assert.ok(!JSON.stringify(mine).includes('s3cret'), 'the password is not stored in the clear');

    assert.equal((await post({ name: 'added', url: secured.url })).status, 409, 'a taken name conflicts');
    assert.equal((await post({ name: 'hub', url: secured.url })).status, 409, 'a configured name conflicts');
    assert.equal((await post({ name: 'Bad Name', url: secured.url })).status, 400);

    const m = await fetch(`${cache.url}/v2/added/${ns}/viaapi/manifests/v1`, { headers: { accept: ACCEPT } });
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('docker-content-digest'), img.digest);
    await m.arrayBuffer();

    assert.equal((await fetch(`${cache.url}/api/v1/proxies/hub`, { method: 'DELETE' })).status, 409, 'configured upstreams are removed in the configuration');
    assert.equal((await fetch(`${cache.url}/api/v1/proxies/added`, { method: 'DELETE' })).status, 204);
    const list = (await (await fetch(`${cache.url}/api/v1/proxies`)).json()) as { items: { name: string }[] };
    assert.ok(!list.items.some((i) => i.name === 'added'));
    const push = await fetch(`${cache.url}/v2/added/${ns}/x/blobs/uploads/`, { method: 'POST' });
    assert.equal(push.status, 202, 'no longer a cache: an ordinary project again');
    await push.arrayBuffer();
  });

  test("cached content counts against the cache project's quota; a blob that does not fit is DENIED before any byte", async () => {
    const img = await seedImage(plain.url, `${ns}/quota`, 'v1', { layers: [randomBlob(100_000)] });
    const q = await fetch(`${cache.url}/api/v1/projects/limited/quota`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bytes: 50_000 }) });
    assert.equal(q.status, 200, await q.text());
    const config = await fetch(`${cache.url}/v2/limited/${ns}/quota/blobs/${img.blobs[0]}`);
    assert.equal(config.status, 200, 'a small blob fits');
    await config.arrayBuffer();
    const usage = (await (await fetch(`${cache.url}/api/v1/projects/limited/quota`)).json()) as { usage: { bytes: number } };
    assert.ok(usage.usage.bytes > 0 && usage.usage.bytes < 50_000, 'the cached blob is counted');
    const layer = await fetch(`${cache.url}/v2/limited/${ns}/quota/blobs/${img.blobs[1]}`);
    assert.equal(layer.status, 403);
    const err = (await layer.json()) as { errors: { code: string; message: string }[] };
    assert.equal(err.errors[0]!.code, 'DENIED');
    assert.match(err.errors[0]!.message, /quota/i);
    assert.equal(await cache.berth.meta.blobs.sizeInRepository(`limited/${ns}/quota` as RepoName, img.blobs[1] as never), undefined);
  });

  test('podman pulls a real image through the cache, by tag and by digest', async () => {
    const layout = join(work, 'real-layout');
    await initLayout(layout);
    const image = await umociImage(layout, 'v1', { scratch: work, files: { '/etc/motd': `through the cache ${Math.random()}\n` } });
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${new URL(plain.url).host}/${ns}/real:v1`);
    const podman = (...args: string[]) =>
      run('podman', ['--root', join(work, 'podman'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs', ...args], { timeoutMs: 120_000 });
    await podman('pull', '--tls-verify=false', `${cache.host}/hub/${ns}/real:v1`);
    const digest = (await podman('image', 'inspect', '--format', '{{.Digest}}', `${cache.host}/hub/${ns}/real:v1`)).stdout.trim();
    assert.equal(digest, image.digest, 'podman got the upstream manifest');
    await podman('pull', '--tls-verify=false', `${cache.host}/hub/${ns}/real@${image.digest}`);
    assert.equal(counting.count('GET', `/${ns}/real/manifests/v1`), 1);
  });
});
