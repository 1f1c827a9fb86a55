/**
 * Bad input: malformed manifests, missing references, wrong digests, hostile names, oversized
 * bodies, unknown uploads. Each gets the right OCI error and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, errorCode, imageManifest, indexManifest, pushBlob, randomBlob, sha256 } from '../helpers/oci.js';

let b: TestBerth;
before(async () => {
  b = await startBerth({ registry: { maxManifestBytes: 64 * 1024 } as never });
});
after(async () => b.close());

const OCI = 'application/vnd.oci.image.manifest.v1+json';

async function put(repo: string, ref: string, body: Buffer | string, type = OCI): Promise<Response> {
  return fetch(`${b.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: typeof body === 'string' ? body : bytes(body), headers: { 'Content-Type': type } });
}

async function assertNoTags(repo: string): Promise<void> {
  const r = await fetch(`${b.url}/v2/${repo}/tags/list`);
  if (r.status === 404) return;
  assert.deepEqual((await r.json()).tags, []);
}

describe('bad input', () => {
  it('malformed manifests are MANIFEST_INVALID and store nothing', async () => {
    const config = Buffer.from('{"a":1}');
    await pushBlob(b.url, 'bad/json', config);
    const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
    const cases: [string, string][] = [
      ['not json', '{"schemaVersion":2,'],
      ['array', '[]'],
      ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: OCI, config: cfg, layers: [] })],
      ['no config', JSON.stringify({ schemaVersion: 2, mediaType: OCI, layers: [] })],
      ['layers not array', JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: cfg, layers: {} })],
      ['bad digest in descriptor', JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { ...cfg, digest: 'sha256:xyz' }, layers: [] })],
      ['negative size', JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { ...cfg, size: -1 }, layers: [] })],
      ['type mismatch', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] })],
      ['annotations not strings', JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: cfg, layers: [], annotations: { a: 1 } })],
    ];
    for (const [what, body] of cases) {
      const r = await put('bad/json', 'latest', body);
      assert.equal(r.status, 400, what);
      assert.equal(await errorCode(r), 'MANIFEST_INVALID', what);
    }
    await assertNoTags('bad/json');
  });

  it('schema 1 is refused with UNSUPPORTED and a clear message', async () => {
    const r = await put('bad/schema1', 'v1', JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'v1', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    assert.equal(r.status, 415);
    const body = await r.json();
    assert.equal(body.errors[0].code, 'UNSUPPORTED');
    assert.match(body.errors[0].detail.reason, /schema 1/);
  });

  it('an OCI image manifest that says schemaVersion 1 is MANIFEST_INVALID, not UNSUPPORTED', async () => {
    const config = Buffer.from('{"sv":1}');
    await pushBlob(b.url, 'bad/sv1', config);
    const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
    // Declared in the body, in the Content-Type only, and for an index.
    const cases: [string, string, string][] = [
      ['mediaType in body', JSON.stringify({ schemaVersion: 1, mediaType: OCI, config: cfg, layers: [] }), OCI],
      ['Content-Type only', JSON.stringify({ schemaVersion: 1, config: cfg, layers: [] }), OCI],
      ['OCI index', JSON.stringify({ schemaVersion: 1, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }), 'application/vnd.oci.image.index.v1+json'],
    ];
    for (const [what, body, type] of cases) {
      const r = await put('bad/sv1', 'v1', body, type);
      assert.equal(r.status, 400, what);
      assert.equal(await errorCode(r), 'MANIFEST_INVALID', what);
    }
    await assertNoTags('bad/sv1');
  });

  it('GET, HEAD and DELETE of a manifest under an invalid tag are 404 MANIFEST_UNKNOWN', async () => {
    for (const ref of ['.INVALID_MANIFEST_NAME', '-dash', 'x'.repeat(129)]) {
      for (const method of ['GET', 'HEAD', 'DELETE']) {
        const r = await fetch(`${b.url}/v2/bad/notag/manifests/${ref}`, { method });
        assert.equal(r.status, 404, `${method} ${ref}`);
        if (method !== 'HEAD') assert.equal(await errorCode(r), 'MANIFEST_UNKNOWN', `${method} ${ref}`);
      }
    }
  });

  it('manifests that reference missing blobs or children are MANIFEST_BLOB_UNKNOWN', async () => {
    const config = Buffer.from('{"b":1}');
    const layer = randomBlob(100);
    await pushBlob(b.url, 'bad/refs', config);
    const r = await put('bad/refs', 'v1', imageManifest(config, [layer]));
    assert.equal(r.status, 404);
    const body = await r.json();
    assert.equal(body.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(body.errors[0].detail.missing, [sha256(layer)]);
    const idx = await put('bad/refs', 'multi', indexManifest([{ digest: sha256('nope'), size: 10 }]), 'application/vnd.oci.image.index.v1+json');
    assert.equal(idx.status, 404);
    assert.equal(await errorCode(idx), 'MANIFEST_BLOB_UNKNOWN');
    await assertNoTags('bad/refs');
  });

  it('a blob in another repository does not satisfy a manifest', async () => {
    const config = Buffer.from('{"c":2}');
    await pushBlob(b.url, 'bad/other', config);
    const r = await put('bad/mine', 'v1', imageManifest(config, []));
    assert.equal(r.status, 404);
    assert.equal(await errorCode(r), 'MANIFEST_BLOB_UNKNOWN');
  });

  it('oversized manifests get 413 and store nothing', async () => {
    const big = Buffer.alloc(65 * 1024, 0x20);
    const r = await put('bad/big', 'v1', big);
    assert.equal(r.status, 413);
    assert.equal(await errorCode(r), 'MANIFEST_INVALID');
    await assertNoTags('bad/big');
  });

  it('hostile names are NAME_INVALID', async () => {
    const names = ['UPPER/case', 'a/../b', '..', 'a//b', 'a/', '-lead', 'a/b-', 'x'.repeat(256), 'a_b__c___d', 'with%20space'];
    for (const name of names) {
      const r = await fetch(`${b.url}/v2/${name}/tags/list`);
      assert.ok(r.status === 400 || r.status === 404, `${name}: ${r.status}`);
      if (r.status === 400) assert.equal(await errorCode(r), 'NAME_INVALID', name);
    }
    const long = 'a'.repeat(256);
    const r = await fetch(`${b.url}/v2/${long}/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 400);
    assert.equal(await errorCode(r), 'NAME_INVALID');
    const ok255 = await fetch(`${b.url}/v2/${'a'.repeat(255)}/blobs/uploads/`, { method: 'POST' });
    assert.equal(ok255.status, 202);
  });

  it('invalid digests and tags', async () => {
    const d = await fetch(`${b.url}/v2/bad/dig/blobs/sha256:1234`);
    assert.equal(d.status, 400);
    assert.equal(await errorCode(d), 'DIGEST_INVALID');
    const alg = await fetch(`${b.url}/v2/bad/dig/blobs/md5:${'a'.repeat(32)}`);
    assert.equal(await errorCode(alg), 'DIGEST_INVALID');
    const upper = await fetch(`${b.url}/v2/bad/dig/blobs/sha256:${'A'.repeat(64)}`);
    assert.equal(await errorCode(upper), 'DIGEST_INVALID');
    const tag = await put('bad/dig', '.hidden', '{}');
    assert.equal(tag.status, 400);
    assert.equal(await errorCode(tag), 'TAG_INVALID');
    const mono = await fetch(`${b.url}/v2/bad/dig/blobs/uploads/?digest=sha256:zz`, { method: 'POST', body: 'x' });
    assert.equal(mono.status, 400);
    assert.equal(await errorCode(mono), 'DIGEST_INVALID');
  });

  it('unknown and malformed upload ids are BLOB_UPLOAD_UNKNOWN', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-real-upload', '..%2f..%2fetc']) {
      for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
        const url = `${b.url}/v2/bad/up/blobs/uploads/${id}${method === 'PUT' ? `?digest=${sha256('')}` : ''}`;
        const r = await fetch(url, { method, ...(method === 'PATCH' || method === 'PUT' ? { body: 'abc' } : {}) });
        assert.equal(r.status, 404, `${method} ${id}`);
        assert.equal(await errorCode(r), 'BLOB_UPLOAD_UNKNOWN', `${method} ${id}`);
      }
    }
  });

  it('PUT to finish an upload without digest is DIGEST_INVALID and keeps the session', async () => {
    const start = await fetch(`${b.url}/v2/bad/nodigest/blobs/uploads/`, { method: 'POST' });
    const loc = b.url + start.headers.get('location');
    const r = await fetch(loc, { method: 'PUT', body: 'abc' });
    assert.equal(r.status, 400);
    assert.equal(await errorCode(r), 'DIGEST_INVALID');
    assert.equal((await fetch(loc)).status, 204);
  });

  it('a chunk whose length disagrees with Content-Range changes nothing', async () => {
    const start = await fetch(`${b.url}/v2/bad/len/blobs/uploads/`, { method: 'POST' });
    const loc = b.url + start.headers.get('location');
    const r = await fetch(loc, { method: 'PATCH', body: 'abcdef', headers: { 'Content-Range': '0-9' } });
    assert.ok(r.status === 400 || r.status === 416, String(r.status));
    assert.equal((await fetch(loc)).headers.get('range'), '0-0');
  });

  it('unknown endpoints and methods', async () => {
    const r = await fetch(`${b.url}/v2/bad/x/nothing/here`);
    assert.equal(r.status, 404);
    const m = await fetch(`${b.url}/v2/bad/x/tags/list`, { method: 'DELETE' });
    assert.equal(m.status, 405);
    assert.equal(await errorCode(m), 'UNSUPPORTED');
  });
});
