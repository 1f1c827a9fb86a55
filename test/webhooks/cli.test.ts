/** `berth webhook ...` and `berth replication ...` over a real server: create, list, ping, run, and one-line errors. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { cliIn } from '../helpers/cli.js';
import { Receiver } from '../helpers/receiver.js';


describe('berth webhook and replication commands', () => {
  let b: TestBerth;
  let dir: string;
  const rx = new Receiver();
  before(async () => {
    await rx.start();
    b = await startAuthBerth({ events: { pollMs: 50 }, jobs: { pollMs: 50 }, webhooks: { allowPrivateNetworks: true } });
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-events-'));
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'team', public: false }));
  });
  after(async () => {
    await b?.close();
    await rx.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const berth = (...a: Parameters<ReturnType<typeof cliIn>>) => cliIn(dir)(...a);

  test('webhooks: create, list, ping, deliveries; bad input is one line and exit 1', async () => {
    assert.equal((await berth(['login', b.url, '-u', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code, 0);
    const created = await berth(['webhook', 'create', rx.url, '--project', 'team', '--event', 'artifact.pushed,tag.deleted', '--json']);
    assert.equal(created.code, 0, created.err);
    const hook = JSON.parse(created.out);
    assert.deepEqual(hook.events, ['artifact.pushed', 'tag.deleted']);
    const listed = await berth(['webhook', 'list', '--project', 'team']);
    assert.match(listed.out, new RegExp(`^${hook.id}\\s+${rx.url.replace(/[/.]/g, '\\$&')}`, 'm'));
    assert.equal((await berth(['webhook', 'ping', String(hook.id), '--project', 'team'])).code, 0);
    await rx.waitFor((r) => r.length >= 1);
    assert.equal(JSON.parse(rx.requests[0]!.body).type, 'berth.ping');
    const log = await berth(['webhook', 'deliveries', String(hook.id), '--project', 'team', '--json']);
    assert.equal(JSON.parse(log.out)[0].event, 'ping');
    const bad = await berth(['webhook', 'create', rx.url, '--project', 'team', '--event', 'nope']);
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
    const noScope = await berth(['webhook', 'list']);
    assert.equal(noScope.code, 1);
    assert.match(noScope.err, /--project/);
  });

  test('replication: target, policy, run --wait; a failed run exits 1', async () => {
    assert.equal((await berth(['replication', 'target', 'add', 'nowhere', 'http://127.0.0.1:9', '-u', 'x', '--password-stdin'], 'secret\n')).code, 0);
    const targets = JSON.parse((await berth(['replication', 'target', 'list', '--json'])).out);
    assert.deepEqual(targets.map((t: any) => [t.name, t.username, 'password' in t]), [['nowhere', 'x', false]]);
    const p = await berth(['replication', 'policy', 'add', 'p1', '--target', 'nowhere', '--direction', 'pull', '--repository', 'team/app', '--tag', 'v*']);
    assert.equal(p.code, 0, p.err);
    const r = await berth(['replication', 'run', 'p1', '--wait', '--json']);
    assert.equal(r.code, 1, r.out + r.err);
    const run = JSON.parse(r.out);
    assert.equal(run.status, 'failed');
    assert.match(run.error, /ECONNREFUSED/);
  });
});
