/**
 * Conformance: pull. Version check, manifests by tag and digest (GET and HEAD) of every
 * supported type, blobs with Range, and the errors for unknown content.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { errorCode, indexManifest, pushBlob, pushImage, putManifest, randomBlob, sha256 } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth();
});
after(async () => b.close());

describe('pull', () => {
  it('GET /v2/ answers 200 with the API version header', async () => {
    for (const path of ['/v2/', '/v2']) {
      const r = await fetch(b.url + path);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
    }
  });

  it('manifest GET and HEAD by tag and by digest', async () => {
    const img = await pushImage(b.url, 'pull/img', 'latest');
    for (const ref of ['latest', img.digest]) {
      const get = await fetch(`${b.url}/v2/pull/img/manifests/${ref}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(get.headers.get('docker-content-digest'), img.digest);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), img.manifest, 'the bytes exactly as pushed');
      const head = await fetch(`${b.url}/v2/pull/img/manifests/${ref}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(img.manifest.length));
      assert.equal(head.headers.get('docker-content-digest'), img.digest);
    }
  });

  it('Docker schema 2 manifest and manifest list keep their media types', async () => {
    const config = Buffer.from('{"architecture":"arm64","os":"linux"}');
    const layer = randomBlob(500);
    await pushBlob(b.url, 'pull/docker', config);
    await pushBlob(b.url, 'pull/docker', layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(layer), size: layer.length }],
      }),
    );
    await putManifest(b.url, 'pull/docker', 'arm', manifest, 'application/vnd.docker.distribution.manifest.v2+json');
    const list = indexManifest([{ digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'arm64' } }], 'application/vnd.docker.distribution.manifest.list.v2+json');
    const listJson = JSON.parse(list.toString());
    listJson.manifests[0].mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
    const listBytes = Buffer.from(JSON.stringify(listJson));
    await putManifest(b.url, 'pull/docker', 'multi', listBytes, 'application/vnd.docker.distribution.manifest.list.v2+json');
    const r = await fetch(`${b.url}/v2/pull/docker/manifests/multi`);
    assert.equal(r.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.equal(r.headers.get('docker-content-digest'), sha256(listBytes));
    const m = await fetch(`${b.url}/v2/pull/docker/manifests/arm`, { method: 'HEAD' });
    assert.equal(m.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
  });

  it('an OCI index whose children are in the repository', async () => {
    const a = await pushImage(b.url, 'pull/index', 'amd64');
    const c = await pushImage(b.url, 'pull/index', 'arm64');
    const index = indexManifest([
      { digest: a.digest, size: a.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      { digest: c.digest, size: c.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    await putManifest(b.url, 'pull/index', 'multi', index, 'application/vnd.oci.image.index.v1+json');
    const r = await fetch(`${b.url}/v2/pull/index/manifests/multi`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
  });

  it('blob GET and HEAD, with Range (206) and unsatisfiable Range (416)', async () => {
    const data = randomBlob(10_000);
    const digest = await pushBlob(b.url, 'pull/blob', data);
    const head = await fetch(`${b.url}/v2/pull/blob/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '10000');
    assert.equal(head.headers.get('docker-content-digest'), digest);
    const part = await fetch(`${b.url}/v2/pull/blob/blobs/${digest}`, { headers: { Range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 100-199/10000');
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(100, 200));
    const open = await fetch(`${b.url}/v2/pull/blob/blobs/${digest}`, { headers: { Range: 'bytes=9990-' } });
    assert.equal(open.status, 206);
    assert.deepEqual(Buffer.from(await open.arrayBuffer()), data.subarray(9990));
    const suffix = await fetch(`${b.url}/v2/pull/blob/blobs/${digest}`, { headers: { Range: 'bytes=-5' } });
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), data.subarray(9995));
    const bad = await fetch(`${b.url}/v2/pull/blob/blobs/${digest}`, { headers: { Range: 'bytes=20000-20010' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), 'bytes */10000');
  });

  it('a blob is served only by repositories that have it', async () => {
    const digest = await pushBlob(b.url, 'pull/owner', randomBlob(64));
    const r = await fetch(`${b.url}/v2/pull/stranger/blobs/${digest}`);
    assert.equal(r.status, 404);
    assert.equal(await errorCode(r), 'BLOB_UNKNOWN');
  });

  it('unknown manifests and blobs: MANIFEST_UNKNOWN and BLOB_UNKNOWN (404)', async () => {
    const m = await fetch(`${b.url}/v2/pull/none/manifests/nope`);
    assert.equal(m.status, 404);
    assert.equal(await errorCode(m), 'MANIFEST_UNKNOWN');
    const d = await fetch(`${b.url}/v2/pull/none/manifests/${sha256('x')}`);
    assert.equal(d.status, 404);
    const bl = await fetch(`${b.url}/v2/pull/none/blobs/${sha256('x')}`);
    assert.equal(bl.status, 404);
    assert.equal(await errorCode(bl), 'BLOB_UNKNOWN');
    const headMissing = await fetch(`${b.url}/v2/pull/none/blobs/${sha256('x')}`, { method: 'HEAD' });
    assert.equal(headMissing.status, 404);
    assert.equal(await headMissing.text(), '');
  });
});
