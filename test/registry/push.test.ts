/**
 * Conformance: push. Monolithic, POST-then-PUT, chunked and streamed uploads, cross-repository
 * mounts, upload status and cancel, manifest push by tag and by digest, and the upload errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, errorCode, imageManifest, pushBlob, pushImage, putManifest, randomBlob, sha256 } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth();
});
after(async () => b.close());

async function startUpload(repo: string): Promise<string> {
  const r = await fetch(`${b.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('range'), '0-0');
  assert.ok(r.headers.get('docker-upload-uuid'));
  const location = r.headers.get('location');
  assert.match(location!, new RegExp(`^/v2/${repo}/blobs/uploads/[A-Za-z0-9-]+$`));
  return b.url + location;
}

describe('push', () => {
  it('monolithic POST ?digest= stores the blob (201, Location, Docker-Content-Digest)', async () => {
    const data = randomBlob(10_000);
    const digest = sha256(data);
    const r = await fetch(`${b.url}/v2/push/mono/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes(data) });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/push/mono/blobs/${digest}`);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    const got = await fetch(`${b.url}/v2/push/mono/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
  });

  it('POST then PUT with the whole body', async () => {
    const data = randomBlob(5000);
    const digest = sha256(data);
    const loc = await startUpload('push/postput');
    const r = await fetch(`${loc}?digest=${digest}`, { method: 'PUT', body: bytes(data), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    assert.equal((await fetch(`${b.url}/v2/push/postput/blobs/${digest}`, { method: 'HEAD' })).headers.get('content-length'), '5000');
  });

  it('chunked PATCH with Content-Range, status, then PUT without body', async () => {
    const data = randomBlob(30_000);
    const digest = sha256(data);
    const loc = await startUpload('push/chunked');
    const chunks = [data.subarray(0, 10_000), data.subarray(10_000, 25_000), data.subarray(25_000)];
    let offset = 0;
    for (const c of chunks) {
      const r = await fetch(loc, { method: 'PATCH', body: bytes(Buffer.from(c)), headers: { 'Content-Range': `${offset}-${offset + c.length - 1}`, 'Content-Length': String(c.length) } });
      assert.equal(r.status, 202);
      offset += c.length;
      assert.equal(r.headers.get('range'), `0-${offset - 1}`);
      assert.equal(b.url + r.headers.get('location'), loc);
    }
    const st = await fetch(loc);
    assert.equal(st.status, 204);
    assert.equal(st.headers.get('range'), `0-${data.length - 1}`);
    assert.equal((await fetch(`${b.url}/v2/push/chunked/blobs/${digest}`, { method: 'HEAD' })).status, 404, 'not visible before PUT');
    const fin = await fetch(`${loc}?digest=${digest}`, { method: 'PUT' });
    assert.equal(fin.status, 201);
    const got = await fetch(`${b.url}/v2/push/chunked/blobs/${digest}`);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
    assert.equal((await fetch(loc)).status, 404, 'the session is gone after the finish');
  });

  it('streamed PATCH without Content-Range, then a final chunk with PUT', async () => {
    const data = randomBlob(20_000);
    const digest = sha256(data);
    const loc = await startUpload('push/streamed');
    const r = await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(0, 12_345)) });
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), '0-12344');
    const fin = await fetch(`${loc}?digest=${digest}`, { method: 'PUT', body: bytes(Buffer.from(data.subarray(12_345))), headers: { 'Content-Range': `12345-${data.length - 1}` } });
    assert.equal(fin.status, 201);
    assert.deepEqual(Buffer.from(await (await fetch(`${b.url}/v2/push/streamed/blobs/${digest}`)).arrayBuffer()), data);
  });

  it('out-of-order and overlapping chunks get 416 with the current Range and change nothing', async () => {
    const data = randomBlob(2000);
    const loc = await startUpload('push/order');
    assert.equal((await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(0, 1000)), headers: { 'Content-Range': '0-999' } })).status, 202);
    const gap = await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(1500)), headers: { 'Content-Range': '1500-1999' } });
    assert.equal(gap.status, 416);
    assert.equal(gap.headers.get('range'), '0-999');
    assert.equal(await errorCode(gap), 'BLOB_UPLOAD_INVALID');
    const overlap = await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(500, 1500)), headers: { 'Content-Range': '500-1499' } });
    assert.equal(overlap.status, 416);
    const bad = await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(1000)), headers: { 'Content-Range': 'bytes=abc' } });
    assert.equal(bad.status, 416);
    assert.equal((await fetch(loc)).headers.get('range'), '0-999');
    const fin = await fetch(`${loc}?digest=${sha256(data)}`, { method: 'PUT', body: bytes(data.subarray(1000)), headers: { 'Content-Range': '1000-1999' } });
    assert.equal(fin.status, 201);
  });

  it('a wrong digest at PUT is DIGEST_INVALID, stores nothing and keeps the session where it was', async () => {
    const data = randomBlob(3000);
    const loc = await startUpload('push/wrong');
    assert.equal((await fetch(loc, { method: 'PATCH', body: bytes(data.subarray(0, 1000)) })).status, 202);
    const wrong = sha256('something else');
    const r = await fetch(`${loc}?digest=${wrong}`, { method: 'PUT', body: bytes(data.subarray(1000)) });
    assert.equal(r.status, 400);
    assert.equal(await errorCode(r), 'DIGEST_INVALID');
    assert.equal((await fetch(`${b.url}/v2/push/wrong/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
    assert.equal((await fetch(`${b.url}/v2/push/wrong/blobs/${sha256(data)}`, { method: 'HEAD' })).status, 404);
    assert.equal((await fetch(loc)).headers.get('range'), '0-999');
    const fin = await fetch(`${loc}?digest=${sha256(data)}`, { method: 'PUT', body: bytes(data.subarray(1000)) });
    assert.equal(fin.status, 201);
  });

  it('monolithic POST with a wrong digest stores nothing', async () => {
    const data = randomBlob(100);
    const wrong = sha256('other');
    const r = await fetch(`${b.url}/v2/push/monowrong/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: bytes(data) });
    assert.equal(r.status, 400);
    assert.equal(await errorCode(r), 'DIGEST_INVALID');
    assert.equal((await fetch(`${b.url}/v2/push/monowrong/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
  });

  it('sha512 digests are accepted', async () => {
    const data = randomBlob(777);
    const { createHash } = await import('node:crypto');
    const digest = 'sha512:' + createHash('sha512').update(data).digest('hex');
    const loc = await startUpload('push/sha512');
    assert.equal((await fetch(loc, { method: 'PATCH', body: bytes(data) })).status, 202);
    const r = await fetch(`${loc}?digest=${digest}`, { method: 'PUT' });
    assert.equal(r.status, 201);
    assert.equal((await fetch(`${b.url}/v2/push/sha512/blobs/${digest}`, { method: 'HEAD' })).headers.get('docker-content-digest'), digest);
  });

  it('cancel removes the session (204), then it is unknown (404 BLOB_UPLOAD_UNKNOWN)', async () => {
    const loc = await startUpload('push/cancel');
    assert.equal((await fetch(loc, { method: 'DELETE' })).status, 204);
    const r = await fetch(loc);
    assert.equal(r.status, 404);
    assert.equal(await errorCode(r), 'BLOB_UPLOAD_UNKNOWN');
    const p = await fetch(loc, { method: 'PATCH', body: 'x' });
    assert.equal(p.status, 404);
  });

  it('an upload id of another repository is unknown', async () => {
    const loc = await startUpload('push/owner');
    const id = loc.split('/').pop();
    const r = await fetch(`${b.url}/v2/push/intruder/blobs/uploads/${id}`);
    assert.equal(r.status, 404);
    assert.equal(await errorCode(r), 'BLOB_UPLOAD_UNKNOWN');
    // Writes through the wrong repository are refused too, and leave the session to its owner.
    const data = randomBlob(3000);
    const patch = await fetch(`${b.url}/v2/push/intruder/blobs/uploads/${id}`, { method: 'PATCH', body: bytes(data), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(patch.status, 404);
    assert.equal(await errorCode(patch), 'BLOB_UPLOAD_UNKNOWN');
    const put = await fetch(`${b.url}/v2/push/intruder/blobs/uploads/${id}?digest=${sha256(data)}`, { method: 'PUT', body: bytes(data) });
    assert.equal(put.status, 404);
    assert.equal(await errorCode(put), 'BLOB_UPLOAD_UNKNOWN');
    const own = await fetch(`${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256(data)}`, { method: 'PUT', body: bytes(data) });
    assert.equal(own.status, 201, 'the owner finishes at once: no lease was left behind');
    assert.equal((await fetch(`${b.url}/v2/push/owner/blobs/${sha256(data)}`, { method: 'HEAD' })).status, 200);
  });

  it('cross-repository mount: 201 when the source has the blob, 202 fallback otherwise', async () => {
    const data = randomBlob(4096);
    const digest = await pushBlob(b.url, 'mount/src', data);
    const ok = await fetch(`${b.url}/v2/mount/dst/blobs/uploads/?mount=${digest}&from=mount/src`, { method: 'POST' });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('location'), `/v2/mount/dst/blobs/${digest}`);
    assert.equal(ok.headers.get('docker-content-digest'), digest);
    assert.equal((await fetch(`${b.url}/v2/mount/dst/blobs/${digest}`, { method: 'HEAD' })).status, 200);
    const unknown = await fetch(`${b.url}/v2/mount/dst2/blobs/uploads/?mount=${sha256('nope')}&from=mount/src`, { method: 'POST' });
    assert.equal(unknown.status, 202);
    assert.ok(unknown.headers.get('location'));
    const wrongFrom = await fetch(`${b.url}/v2/mount/dst3/blobs/uploads/?mount=${digest}&from=mount/other`, { method: 'POST' });
    assert.equal(wrongFrom.status, 202);
    assert.equal((await fetch(`${b.url}/v2/mount/dst3/blobs/${digest}`, { method: 'HEAD' })).status, 404);
    const badArgs = await fetch(`${b.url}/v2/mount/dst4/blobs/uploads/?mount=garbage&from=../x`, { method: 'POST' });
    assert.equal(badArgs.status, 202);
  });

  it('manifest push by tag and by digest; OCI-Subject on a referrer', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = randomBlob(2048);
    await pushBlob(b.url, 'push/manifest', config);
    await pushBlob(b.url, 'push/manifest', layer);
    const manifest = imageManifest(config, [layer]);
    const digest = sha256(manifest);
    const r = await putManifest(b.url, 'push/manifest', 'v1', manifest);
    assert.equal(r.headers.get('location'), `/v2/push/manifest/manifests/${digest}`);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    assert.equal(r.headers.get('oci-subject'), null);
    const byDigest = await putManifest(b.url, 'push/manifest', digest, manifest);
    assert.equal(byDigest.headers.get('docker-content-digest'), digest);

    const empty = Buffer.from('{}');
    await pushBlob(b.url, 'push/manifest', empty);
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length },
      }),
    );
    const s = await putManifest(b.url, 'push/manifest', sha256(sig), sig);
    assert.equal(s.headers.get('oci-subject'), digest);
  });

  it('one manifest pushed under many tags at once: every push succeeds', async () => {
    const img = await pushImage(b.url, 'push/many', 'seed');
    const tags = Array.from({ length: 16 }, (_, i) => `t${i}`);
    const results = await Promise.all(tags.map((t) => fetch(`${b.url}/v2/push/many/manifests/${t}`, { method: 'PUT', body: bytes(img.manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })));
    assert.deepEqual(results.map((r) => r.status), tags.map(() => 201));
    const listed = (await (await fetch(`${b.url}/v2/push/many/tags/list`)).json()).tags as string[];
    assert.deepEqual(listed, [...tags, 'seed'].sort());
  });

  it('32 different images pushed into one repository at once: every push succeeds', async () => {
    // On PostgreSQL these transactions abort each other (serialization failures) and are run
    // again; none may come back as a server error.
    const images = await Promise.all(Array.from({ length: 32 }, (_, i) => pushImage(b.url, 'push/crowd', `img-${i}`, { layers: [randomBlob(300 + i, i / 32)] })));
    const listed = (await (await fetch(`${b.url}/v2/push/crowd/tags/list?n=100`)).json()).tags as string[];
    assert.equal(listed.length, images.length);
    for (const [i, img] of images.entries()) {
      const r = await fetch(`${b.url}/v2/push/crowd/manifests/img-${i}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(r.headers.get('docker-content-digest'), img.digest);
    }
  });

  it('manifest PUT by digest with a body of another digest is DIGEST_INVALID', async () => {
    const config = Buffer.from('{"c":1}');
    await pushBlob(b.url, 'push/mdigest', config);
    const manifest = imageManifest(config, []);
    const r = await fetch(`${b.url}/v2/push/mdigest/manifests/${sha256('x')}`, { method: 'PUT', body: bytes(manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 400);
    assert.equal(await errorCode(r), 'DIGEST_INVALID');
  });
});
