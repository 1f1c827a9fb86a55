/**
 * Unfinished uploads count: bytes of open upload sessions count against the project's byte
 * quota as they arrive (a write that would pass it is refused and leaves the session where it
 * was), finishing a session does not count its bytes twice, and open sessions are capped per
 * repository and per principal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { bytes, randomBlob, sha256 } from '../helpers/oci.js';

const lifecycle = { gc: { schedule: null }, schedulerEnabled: false };

async function api(t: TestBerth, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${t.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function open(t: TestBerth, repo: string): Promise<{ status: number; location: string; code?: string }> {
  const r = await fetch(`${t.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const text = await r.text();
  return { status: r.status, location: t.url + (r.headers.get('location') ?? ''), ...(r.status >= 400 ? { code: JSON.parse(text).errors[0].code } : {}) };
}

/** A body of unknown length, streamed (chunked transfer) as a client uploading a layer would. */
function streamed(data: Buffer): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  let i = 0;
  return {
    body: new ReadableStream({
      pull(c) {
        if (i >= data.length) return c.close();
        c.enqueue(data.subarray(i, i + 16 * 1024));
        i += 16 * 1024;
      },
    }),
    duplex: 'half',
  };
}

async function offset(location: string): Promise<string | null> {
  return (await fetch(location)).headers.get('range');
}

test('bytes of open uploads count against the byte quota as they arrive', async () => {
  const t = await startBerth({ lifecycle });
  try {
    assert.equal((await api(t, 'PUT', '/api/v1/projects/q/quota', { bytes: 10_000 })).status, 200);

    // A declared 200 kB chunk is refused before a byte is read.
    const a = await open(t, 'q/app');
    assert.equal(a.status, 202);
    const big = randomBlob(200_000);
    const declared = await fetch(a.location, { method: 'PATCH', body: bytes(big), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(declared.status, 403);
    assert.equal(((await declared.json()) as any).errors[0].code, 'DENIED');
    assert.equal(await offset(a.location), '0-0', 'the session did not move');

    // The same bytes streamed without a length are cut off once they pass the quota.
    const cut = await fetch(a.location, { method: 'PATCH', ...streamed(big), headers: { 'Content-Type': 'application/octet-stream' } } as RequestInit);
    assert.equal(cut.status, 403);
    assert.match(((await cut.json()) as any).errors[0].detail.reason, /quota exceeded/);
    assert.equal(await offset(a.location), '0-0');

    // 6 kB sit in one open session: the project has 4 kB left for any other.
    const six = randomBlob(6_000);
    assert.equal((await fetch(a.location, { method: 'PATCH', body: bytes(six) })).status, 202);
    const usage = (await api(t, 'GET', '/api/v1/projects/q/usage')).json;
    assert.equal(usage.usage.uploadBytes, 6_000);
    const b = await open(t, 'q/other');
    assert.equal((await fetch(b.location, { method: 'PATCH', body: bytes(randomBlob(6_000)) })).status, 403, 'a second session cannot add what the first already holds');
    assert.equal((await fetch(b.location, { method: 'PATCH', ...streamed(randomBlob(6_000)) } as RequestInit)).status, 403);
    const mono = randomBlob(6_000);
    assert.equal((await fetch(`${t.url}/v2/q/other/blobs/uploads/?digest=${sha256(mono)}`, { method: 'POST', body: bytes(mono) })).status, 403, 'a monolithic push too');
    assert.equal((await fetch(b.location, { method: 'PATCH', body: bytes(randomBlob(3_000)) })).status, 202, 'what fits is taken');

    // Finishing the first session turns its bytes into a blob without counting them twice.
    const done = await fetch(`${a.location}?digest=${sha256(six)}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const after = (await api(t, 'GET', '/api/v1/projects/q/usage')).json;
    assert.equal(after.usage.blobBytes, 6_000);
    assert.equal(after.usage.uploadBytes, 3_000);

    // Cancelling a session gives its room back.
    assert.equal((await fetch(b.location, { method: 'DELETE' })).status, 204);
    assert.equal((await api(t, 'GET', '/api/v1/projects/q/usage')).json.usage.uploadBytes, 0);
    const c = await open(t, 'q/app');
    assert.equal((await fetch(c.location, { method: 'PATCH', body: bytes(randomBlob(3_500)) })).status, 202);
  } finally {
    await t.close();
  }
});

test('open upload sessions are capped per repository and per principal', async () => {
  const t = await startBerth({ lifecycle, registry: { maxOpenUploadsPerRepository: 3, maxOpenUploadsPerPrincipal: 5 } as never });
  try {
    const first: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await open(t, 'c/one');
      assert.equal(s.status, 202);
      first.push(s.location);
    }
    const over = await open(t, 'c/one');
    assert.equal(over.status, 429);
    assert.equal(over.code, 'TOOMANYREQUESTS');
    // Another repository has room, until the caller (anonymous, from this address) holds five.
    assert.equal((await open(t, 'c/two')).status, 202);
    assert.equal((await open(t, 'c/two')).status, 202);
    const mine = await open(t, 'c/three');
    assert.equal(mine.status, 429, 'five open sessions is the per-principal limit');
    // A finished or cancelled session frees its place.
    assert.equal((await fetch(first[0]!, { method: 'DELETE' })).status, 204);
    assert.equal((await open(t, 'c/three')).status, 202);
    const blob = randomBlob(100);
    const put = await fetch(`${first[1]}?digest=${sha256(blob)}`, { method: 'PUT', body: bytes(blob) });
    assert.equal(put.status, 201);
    assert.equal((await open(t, 'c/one')).status, 202);
    // A monolithic push needs no session and is not capped by them.
    const mono = randomBlob(50);
    assert.equal((await fetch(`${t.url}/v2/c/one/blobs/uploads/?digest=${sha256(mono)}`, { method: 'POST', body: bytes(mono) })).status, 201);
  } finally {
    await t.close();
  }
});
