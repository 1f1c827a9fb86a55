/**
 * `berth proxy` over the management API of a server with access control, against a real
 * upstream (the Debian docker-registry on loopback): create an upstream (password from stdin,
 * never printed), list it with health, size and hit ratio, preheat an image and wait for it,
 * evict, delete. Every refusal is one line on stderr and a non-zero exit, and changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { cliIn } from '../helpers/cli.js';
import { missingTools } from '../helpers/tools.js';
import { seedImage, type SeededImage } from './seed.js';
import { startDistribution, type Distribution } from './upstreams.js';

describe('berth proxy', { skip: missingTools('docker-registry'), timeout: 120_000 }, () => {
  let upstream: Distribution;
  let b: TestBerth;
  let dir: string;
  let image: SeededImage;

  before(async () => {
    upstream = await startDistribution();
    image = await seedImage(upstream.url, 'team/app', 'v1');
    b = await startAuthBerth({
      jobs: { enabled: true, concurrency: 1, pollMs: 50, leaseSeconds: 60 },
      proxy: { upstreams: [{ name: 'configured', url: upstream.url }] },
    });
    dir = await mkdtemp(join(tmpdir(), 'berth-proxy-cli-'));
  });
  after(async () => {
    await b?.close();
    await upstream?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const berth = (...a: Parameters<ReturnType<typeof cliIn>>) => cliIn(dir)(...a);

  /** A refusal: a non-zero exit and exactly one line on stderr matching `pattern`. */
  async function refused(args: string[], pattern: RegExp, stdin = ''): Promise<void> {
    const r = await berth(args, stdin);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.match(r.err, pattern);
  }

  const names = async () => ((JSON.parse((await berth(['proxy', 'list', '--json'])).out) as { name: string }[]).map((p) => p.name)).sort();

  it('creates, lists, preheats, evicts and deletes; refusals are one line and change nothing', async () => {
    await refused(['proxy', 'list'], /log in|login|401|unauthori[sz]ed|credentials/i);
    assert.equal((await berth(['login', b.url, '-u', 'admin', '--password-stdin'], `${ADMIN_PASSWORD}\n`)).code, 0);

    const created = await berth(['proxy', 'create', 'edge', upstream.url, '--mirror-of', 'docker.io', '-u', 'robot', '--password-stdin', '--tag-ttl-seconds', '60', '--json'], 'upstream-pw-1\n');
    assert.equal(created.code, 0, created.err);
    assert.ok(!created.out.includes('upstream-pw-1'), 'the password is never printed');
    const view = JSON.parse(created.out) as { name: string; url: string; mirrorOf: string[]; hasPassword: boolean; source: string };
    assert.deepEqual({ name: view.name, url: view.url, mirrorOf: view.mirrorOf, hasPassword: view.hasPassword, source: view.source }, { name: 'edge', url: upstream.url, mirrorOf: ['docker.io'], hasPassword: true, source: 'api' });

    await refused(['proxy', 'create', 'edge', upstream.url], /edge.*exists|exists.*edge|conflict/i);
    await refused(['proxy', 'create', 'Bad Name', upstream.url], /name/i);
    await refused(['proxy', 'create', 'other', 'not a url'], /url/i);
    assert.deepEqual(await names(), ['configured', 'edge'], 'the refused creates added nothing');

    // The plain upstream asks for no credentials: pulls through `configured` flow.
    const pre = await berth(['proxy', 'preheat', 'configured', 'team/app:v1', 'team/absent:v1', '--wait', '--json']);
    assert.equal(pre.code, 0, pre.err);
    const progress = JSON.parse(pre.out) as { status: string; done: number; failed: number; blobs: number; errors: string[] };
    assert.deepEqual({ status: progress.status, done: progress.done, failed: progress.failed, blobs: progress.blobs }, { status: 'succeeded', done: 2, failed: 1, blobs: image.blobs.length });
    assert.match(pre.err, /^error: .*team\/absent:v1/m, 'a reference that failed is reported on stderr');
    await refused(['proxy', 'preheat', 'nowhere', 'team/app:v1'], /nowhere/);
    await refused(['proxy', 'preheat', 'configured', 'Not A Ref!'], /reference|Not A Ref/i);

    const blob = await fetch(`${b.url}/v2/configured/team/app/blobs/${image.blobs[1]}`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` } });
    assert.equal(blob.headers.get('x-berth-proxy'), 'hit', 'preheated');
    await blob.arrayBuffer();

    const table = await berth(['proxy', 'list']);
    assert.equal(table.code, 0, table.err);
    const [head, ...rows] = table.out.trim().split('\n');
    assert.match(head!, /NAME\s+URL\s+MIRROR OF\s+HEALTH\s+CACHED\s+HIT RATIO/);
    const configured = rows.find((r) => r.startsWith('configured '))!;
    assert.match(configured, /\bup\b/, 'health');
    assert.match(configured, /\d+(\.\d+)? (B|KiB|KB|kB)/, 'cache size');
    assert.match(configured, /\d+%\s*$/, 'hit ratio');
    assert.match(rows.find((r) => r.startsWith('edge '))!, /docker\.io.*-\s*$/, 'no lookups yet: no ratio');

    const evicted = await berth(['proxy', 'evict', 'configured', '--json']);
    assert.equal(evicted.code, 0, evicted.err);
    assert.equal((JSON.parse(evicted.out) as { upstream: string }).upstream, 'configured');

    await refused(['proxy', 'delete', 'configured'], /configuration/);
    assert.equal((await berth(['proxy', 'delete', 'edge'])).code, 0);
    assert.deepEqual(await names(), ['configured']);
    await refused(['proxy', 'delete', 'edge'], /edge/);
  });
});
