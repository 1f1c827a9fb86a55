/**
 * Conformance: content discovery. Tags list and catalog with `n`, `last` and `Link`, and the
 * referrers API with the `artifactType` filter and paging.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { errorCode, pushBlob, pushImage, putManifest, sha256 } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth({ registry: { defaultPageSize: 1000, maxPageSize: 50 } as never });
});
after(async () => b.close());

describe('content discovery', () => {
  it('tags list is sorted and paged with n, last and Link', async () => {
    const img = await pushImage(b.url, 'disc/tags', 'seed');
    const names = ['b', 'a', 'c-1', 'C', '0', 'latest', 'v1.0', 'v1.1'];
    for (const t of names) await putManifest(b.url, 'disc/tags', t, img.manifest);
    const all = [...names, 'seed'].sort();
    const full = await (await fetch(`${b.url}/v2/disc/tags/tags/list`)).json();
    assert.deepEqual(full, { name: 'disc/tags', tags: all });
    const p1 = await fetch(`${b.url}/v2/disc/tags/tags/list?n=4`);
    assert.deepEqual((await p1.json()).tags, all.slice(0, 4));
    const link = p1.headers.get('link');
    assert.equal(link, `</v2/disc/tags/tags/list?n=4&last=${encodeURIComponent(all[3]!)}>; rel="next"`);
    const next = link!.slice(1, link!.indexOf('>'));
    const p2 = await fetch(b.url + next);
    assert.deepEqual((await p2.json()).tags, all.slice(4, 8));
    const p3 = await fetch(`${b.url}/v2/disc/tags/tags/list?n=4&last=${all[7]}`);
    assert.deepEqual((await p3.json()).tags, all.slice(8));
    assert.equal(p3.headers.get('link'), null);
    const zero = await (await fetch(`${b.url}/v2/disc/tags/tags/list?n=0`)).json();
    assert.deepEqual(zero.tags, []);
    const bad = await fetch(`${b.url}/v2/disc/tags/tags/list?n=-1`);
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'PAGINATION_NUMBER_INVALID');
  });

  it('n above the maximum is clamped and paging continues', async () => {
    const img = await pushImage(b.url, 'disc/many', 't000');
    for (let i = 1; i < 60; i++) await putManifest(b.url, 'disc/many', `t${String(i).padStart(3, '0')}`, img.manifest);
    const r = await fetch(`${b.url}/v2/disc/many/tags/list?n=1000`);
    assert.equal((await r.json()).tags.length, 50);
    assert.ok(r.headers.get('link'));
  });

  it('tags list of an unknown repository is NAME_UNKNOWN', async () => {
    const r = await fetch(`${b.url}/v2/disc/unknown/tags/list`);
    assert.equal(r.status, 404);
    assert.equal(await errorCode(r), 'NAME_UNKNOWN');
  });

  it('catalog lists repositories in order with paging', async () => {
    await pushImage(b.url, 'disc/cat/b', 'x');
    await pushImage(b.url, 'disc/cat/a', 'x');
    const all = (await (await fetch(`${b.url}/v2/_catalog`)).json()).repositories as string[];
    assert.deepEqual(all, [...all].sort());
    assert.ok(all.includes('disc/cat/a') && all.includes('disc/cat/b'));
    const i = all.indexOf('disc/cat/a');
    const page = await fetch(`${b.url}/v2/_catalog?n=1&last=${all[i - 1] ?? ''}`);
    assert.deepEqual((await page.json()).repositories, ['disc/cat/a']);
    assert.match(page.headers.get('link')!, /^<\/v2\/_catalog\?n=1&last=disc%2Fcat%2Fa>; rel="next"$/);
  });

  it('referrers: filtered by artifactType, paged, empty index for an unknown subject', async () => {
    const subject = await pushImage(b.url, 'disc/ref', 'app');
    const empty = Buffer.from('{}');
    await pushBlob(b.url, 'disc/ref', empty);
    const kinds = ['application/vnd.example.sig', 'application/vnd.example.sbom', 'application/vnd.example.sig'];
    const pushed: string[] = [];
    for (const [i, artifactType] of kinds.entries()) {
      const m = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
          layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
          subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.manifest.length },
          annotations: { 'org.example.n': String(i) },
        }),
      );
      await putManifest(b.url, 'disc/ref', sha256(m), m);
      pushed.push(sha256(m));
    }
    const r = await fetch(`${b.url}/v2/disc/ref/referrers/${subject.digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    const idx = await r.json();
    assert.equal(idx.schemaVersion, 2);
    assert.equal(idx.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(idx.manifests.map((m: { digest: string }) => m.digest).sort(), [...pushed].sort());
    assert.ok(idx.manifests.every((m: { annotations?: object; artifactType?: string }) => m.annotations && m.artifactType));

    const sigs = await fetch(`${b.url}/v2/disc/ref/referrers/${subject.digest}?artifactType=application/vnd.example.sig`);
    assert.equal(sigs.headers.get('oci-filters-applied'), 'artifactType');
    const sigIdx = await sigs.json();
    assert.equal(sigIdx.manifests.length, 2);
    assert.ok(sigIdx.manifests.every((m: { artifactType: string }) => m.artifactType === 'application/vnd.example.sig'));

    const p1 = await fetch(`${b.url}/v2/disc/ref/referrers/${subject.digest}?n=2`);
    assert.equal((await p1.json()).manifests.length, 2);
    const link = p1.headers.get('link')!;
    assert.ok(link);
    const p2 = await fetch(b.url + link.slice(1, link.indexOf('>')));
    assert.equal((await p2.json()).manifests.length, 1);

    const none = await fetch(`${b.url}/v2/disc/ref/referrers/${sha256('nothing')}`);
    assert.equal(none.status, 200);
    assert.deepEqual((await none.json()).manifests, []);
    const bad = await fetch(`${b.url}/v2/disc/ref/referrers/sha256:nothex`);
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  });
});
