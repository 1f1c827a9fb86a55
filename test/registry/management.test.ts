/**
 * Conformance: content management. Deleting tags, manifests and blobs, and what stays.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { errorCode, indexManifest, pushImage, putManifest } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth();
});
after(async () => b.close());

describe('content management', () => {
  it('DELETE by tag removes only the tag', async () => {
    const img = await pushImage(b.url, 'mgmt/tag', 'one');
    await putManifest(b.url, 'mgmt/tag', 'two', img.manifest);
    const r = await fetch(`${b.url}/v2/mgmt/tag/manifests/one`, { method: 'DELETE' });
    assert.equal(r.status, 202);
    assert.equal((await fetch(`${b.url}/v2/mgmt/tag/manifests/one`)).status, 404);
    assert.equal((await fetch(`${b.url}/v2/mgmt/tag/manifests/two`)).status, 200);
    assert.equal((await fetch(`${b.url}/v2/mgmt/tag/manifests/${img.digest}`)).status, 200);
    assert.deepEqual((await (await fetch(`${b.url}/v2/mgmt/tag/tags/list`)).json()).tags, ['two']);
    const again = await fetch(`${b.url}/v2/mgmt/tag/manifests/one`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'MANIFEST_UNKNOWN');
  });

  it('DELETE by digest removes the manifest and every tag pointing at it', async () => {
    const img = await pushImage(b.url, 'mgmt/digest', 'a');
    await putManifest(b.url, 'mgmt/digest', 'b', img.manifest);
    const keep = await pushImage(b.url, 'mgmt/digest', 'other');
    const r = await fetch(`${b.url}/v2/mgmt/digest/manifests/${img.digest}`, { method: 'DELETE' });
    assert.equal(r.status, 202);
    assert.equal((await fetch(`${b.url}/v2/mgmt/digest/manifests/${img.digest}`)).status, 404);
    assert.equal((await fetch(`${b.url}/v2/mgmt/digest/manifests/a`)).status, 404);
    assert.deepEqual((await (await fetch(`${b.url}/v2/mgmt/digest/tags/list`)).json()).tags, ['other']);
    assert.equal((await fetch(`${b.url}/v2/mgmt/digest/manifests/${keep.digest}`)).status, 200);
    const again = await fetch(`${b.url}/v2/mgmt/digest/manifests/${img.digest}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  });

  it('a manifest listed by an index cannot be deleted before the index', async () => {
    const child = await pushImage(b.url, 'mgmt/index', 'child');
    const index = indexManifest([{ digest: child.digest, size: child.manifest.length }]);
    await putManifest(b.url, 'mgmt/index', 'multi', index, 'application/vnd.oci.image.index.v1+json');
    const r = await fetch(`${b.url}/v2/mgmt/index/manifests/${child.digest}`, { method: 'DELETE' });
    assert.equal(r.status, 403);
    const body = await r.json();
    assert.equal(body.errors[0].code, 'DENIED');
    assert.match(body.errors[0].detail.reason, /delete the index first/);
    assert.equal((await fetch(`${b.url}/v2/mgmt/index/manifests/${child.digest}`)).status, 200);
  });

  it('a subject can be deleted while its referrers stay', async () => {
    const subject = await pushImage(b.url, 'mgmt/subject', 'app');
    const ref = await pushImage(b.url, 'mgmt/subject', 'sig', {
      extra: { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.manifest.length } },
    });
    assert.equal((await fetch(`${b.url}/v2/mgmt/subject/manifests/${subject.digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${b.url}/v2/mgmt/subject/manifests/${ref.digest}`)).status, 200);
  });

  it('DELETE blob unlinks it from the repository (202), then 404; other repositories keep it', async () => {
    const img = await pushImage(b.url, 'mgmt/blob', 'x');
    const layer = img.layers[0]!;
    const { sha256 } = await import('../helpers/oci.js');
    const digest = sha256(layer);
    await fetch(`${b.url}/v2/mgmt/blob2/blobs/uploads/?mount=${digest}&from=mgmt/blob`, { method: 'POST' });
    // Still referenced by the manifest of mgmt/blob, so that repository keeps serving it.
    assert.equal((await fetch(`${b.url}/v2/mgmt/blob/blobs/${digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${b.url}/v2/mgmt/blob/blobs/${digest}`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${b.url}/v2/mgmt/blob2/blobs/${digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${b.url}/v2/mgmt/blob2/blobs/${digest}`, { method: 'HEAD' })).status, 404);
    const again = await fetch(`${b.url}/v2/mgmt/blob2/blobs/${digest}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'BLOB_UNKNOWN');
  });
});
