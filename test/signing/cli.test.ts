/**
 * `berth signing` over the management API of a server with access control: set a policy from
 * key files (an openssl key), show it, refuse a bad key file with one line and a non-zero exit
 * (changing nothing), turn on sign on push, print the public key, rotate, and verify an image.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { cliIn } from '../helpers/cli.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { opensslKey } from './helpers.js';


describe('berth signing', () => {
  let b: TestBerth;
  let dir: string;
  before(async () => {
    b = await startAuthBerth({ jobs: { enabled: true, concurrency: 1, pollMs: 50, leaseSeconds: 60 } });
    dir = await mkdtemp(join(tmpdir(), 'berth-signing-cli-'));
  });
  after(async () => {
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  const berth = (...a: Parameters<ReturnType<typeof cliIn>>) => cliIn(dir)(...a);

  async function push(repo: string, tag: string): Promise<string> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() }));
    const layer = Buffer.from(`layer ${Math.random()}`);
    for (const blob of [config, layer]) {
      const r = await fetch(`${b.url}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: new Uint8Array(blob), headers: { Authorization: ADMIN, 'Content-Type': 'application/octet-stream' } });
      assert.equal(r.status, 201);
    }
    const manifest = imageManifest(config, [layer]);
    const r = await fetch(`${b.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(manifest), headers: { Authorization: ADMIN, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 201);
    return sha256(manifest);
  }

  it('sets, shows, rotates and verifies; a bad key file changes nothing', async () => {
    assert.equal((await berth(['login', b.url, '-u', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code, 0);
    assert.equal((await berth(['project', 'create', 'cli'])).code, 0);
    const key = await opensslKey();
    await writeFile(join(dir, 'key.pub'), key.publicKey);
    await writeFile(join(dir, 'bad.pub'), '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n');

    const set = await berth(['signing', 'set', 'cli', '--key', 'key.pub', '--enforce']);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /enforce:\s+true/);
    const fingerprint = /(sha256:[0-9a-f]{64})\s+ecdsa-p256/.exec(set.out)?.[1];
    assert.ok(fingerprint, set.out);

    const bad = await berth(['signing', 'set', 'cli', '--add-key', 'bad.pub']);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
    assert.match(bad.err, /verify\.keys\[1\]/);
    const missing = await berth(['signing', 'set', 'cli', '--add-key', 'nope.pub']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.err, /cannot read key file nope\.pub/);
    const shown = JSON.parse((await berth(['signing', 'show', 'cli', '--json'])).out);
    assert.deepEqual(shown.verify.keys.map((k: { fingerprint: string }) => k.fingerprint), [fingerprint], 'the refused changes changed nothing');

    assert.equal((await berth(['signing', 'set', 'cli', '--sign-on-push'])).code, 0);
    const pub = await berth(['signing', 'public-key', 'cli']);
    assert.match(pub.out, /^-----BEGIN PUBLIC KEY-----/);
    const rotated = await berth(['signing', 'rotate', 'cli']);
    assert.equal(rotated.code, 0);
    assert.match(rotated.out, /retired/);
    assert.notEqual((await berth(['signing', 'public-key', 'cli'])).out, pub.out);

    // Signed on push by the (rotated) project key: `verify` finds it and exits 0.
    const digest = await push('cli/app', 'v1');
    let v = await berth(['signing', 'verify', 'cli/app:v1']);
    for (let i = 0; i < 50 && v.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      v = await berth(['signing', 'verify', `cli/app@${digest}`]);
    }
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /verified/);
    assert.match(v.out, /cosign\s+true\s+sha256:/);

    // Nothing signs a project without sign on push: verify exits 1 and says so.
    assert.equal((await berth(['signing', 'set', 'cli', '--no-sign-on-push', '--no-enforce'])).code, 0);
    const unsigned = await push('cli/app', 'v2');
    const u = await berth(['signing', 'verify', `cli/app@${unsigned}`]);
    assert.equal(u.code, 1);
    assert.match(u.out, /not signed/);
    assert.equal((await api(b.url, 'GET', '/projects/cli/signing', ADMIN)).body.signOnPush, false);
  });
});
