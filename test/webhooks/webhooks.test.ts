/**
 * Webhooks end to end, against real HTTP receivers on loopback and a real Berth with access
 * control: a push becomes a CloudEvents 1.0 document (validated against the official schema,
 * vendored in test/fixtures/cloudevents) signed the Standard Webhooks way (verified with the
 * `standardwebhooks` library); a receiver that answers 500 or is down gets the same message
 * again until it takes it, in push order; redelivery and ping; a subscription whose
 * deliveries keep failing is disabled with an audit entry; Harbor's payload format; the SSRF
 * guard refuses loopback and private URLs unless allowed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import { isPrivateAddress } from '../../src/events/outbound.js';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { imageManifest, randomBlob, sha256 } from '../helpers/oci.js';
import { eventually, Receiver } from '../helpers/receiver.js';

const SCHEMA = JSON.parse(readFileSync(new URL('../../../test/fixtures/cloudevents/cloudevents.json', import.meta.url), 'utf8'));
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const compiled = addFormats(new Ajv({ strict: false, allErrors: true })).compile(SCHEMA);
const validateCloudEvent = Object.assign((x: unknown): boolean => compiled(x), { get errors() { return compiled.errors; } });

async function push(url: string, auth: string, repo: string, tag: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const layer = randomBlob(300);
  for (const b of [config, layer]) {
    const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(b)}`, { method: 'POST', body: new Uint8Array(b), headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 201, await r.text());
  }
  const manifest = imageManifest(config, [layer]);
  const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(manifest), headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 201, await r.text());
  return sha256(manifest);
}

describe('webhooks', () => {
  let b: TestBerth;
  const rx = new Receiver();

  before(async () => {
    await rx.start();
    b = await startAuthBerth({
      events: { pollMs: 50 },
      jobs: { pollMs: 50 },
      webhooks: { allowPrivateNetworks: true, retryBaseMs: 100, retryMaxMs: 300, retryForSeconds: 1.5, disableAfterFailures: 2 },
    });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'team', public: false }));
  });
  after(async () => {
    await b?.close();
    await rx.stop();
  });

  let hook: { id: number; secret: string };
  let pushed: string;

  it('delivers a push as a signed CloudEvent that validates against the CloudEvents schema', async () => {
    hook = await ok(api(b.url, 'POST', '/projects/team/webhooks', ADMIN, { url: rx.url, events: ['artifact.pushed', 'tag.deleted'] }));
    assert.match(hook.secret, /^whsec_/);
    // Stored sealed with the key-encryption key, not as given.
    const stored = (await b.berth.meta.webhooks.get(hook.id))!.secret;
    assert.ok(!stored.includes(hook.secret.slice(6)), 'the secret is not stored in the clear');
    const t0 = Date.now();
    pushed = await push(b.url, ADMIN, 'team/app', 'v1');
    await rx.waitFor((r) => r.length >= 1);
    const req = rx.requests[0]!;
    assert.ok(req.at - t0 < 5000, `delivered ${req.at - t0} ms after the push`);
    assert.equal(req.headers['content-type'], 'application/cloudevents+json');
    // The Standard Webhooks library verifies id, timestamp and signature over the exact body.
    const verified = new Webhook(hook.secret).verify(req.body, req.headers as Record<string, string>) as any;
    assert.equal(verified.type, 'berth.artifact.pushed');
    const ev = JSON.parse(req.body);
    assert.ok(validateCloudEvent(ev), JSON.stringify(validateCloudEvent.errors));
    assert.equal(ev.specversion, '1.0');
    assert.equal(ev.subject, 'team/app:v1');
    assert.equal(ev.data.digest, pushed);
    assert.equal(ev.data.repository, 'team/app');
    // A wrong secret does not verify.
    assert.throws(() => new Webhook(`whsec_${Buffer.from('not the secret at all!').toString('base64')}`).verify(req.body, req.headers as Record<string, string>));
    // Events not subscribed to are not sent; tag deletes are.
    const del = await fetch(`${b.url}/v2/team/app/manifests/v1`, { method: 'DELETE', headers: { Authorization: ADMIN } });
    assert.equal(del.status, 202);
    await rx.waitFor((r) => r.length >= 2);
    assert.equal(JSON.parse(rx.requests[1]!.body).type, 'berth.tag.deleted');
    const log = await ok(api(b.url, 'GET', `/projects/team/webhooks/${hook.id}/deliveries`, ADMIN));
    assert.equal(log.items.length, 2);
    assert.equal(log.items[1].status, 'delivered');
    assert.equal(log.items[1].responseStatus, 200);
    assert.equal(log.items[1].responseExcerpt, 'thanks');
    assert.equal(typeof log.items[1].latencyMs, 'number');
  });

  it('retries after 500s and while the receiver is down, keeping push order', async () => {
    rx.requests.length = 0;
    // The first two attempts get 500, then the receiver goes down for a while.
    rx.answer = (n) => (n < 2 ? 500 : 200);
    for (const tag of ['o1', 'o2', 'o3']) await push(b.url, ADMIN, 'team/app', tag);
    await rx.waitFor((r) => r.length >= 2);
    await rx.stop();
    await new Promise((r) => setTimeout(r, 400));
    await rx.start();
    await rx.waitFor((r) => r.filter((x) => x.status === 200).length >= 3, 10_000, 'all three pushes');
    // At least once: a message may come twice (an answer lost when the receiver went down), so count first arrivals.
    const seen = new Set<unknown>();
    const ok200 = rx.requests.filter((x) => x.status === 200 && !seen.has(x.headers['webhook-id']) && seen.add(x.headers['webhook-id']));
    assert.deepEqual(ok200.map((x) => JSON.parse(x.body).subject), ['team/app:o1', 'team/app:o2', 'team/app:o3']);
    // Every attempt before the first success was the first push, under the same webhook-id.
    const firstId = ok200[0]!.headers['webhook-id'];
    assert.ok(rx.requests.indexOf(ok200[0]!) >= 2);
    for (const r of rx.requests.slice(0, rx.requests.indexOf(ok200[0]!))) assert.equal(r.headers['webhook-id'], firstId);
    const log = await ok(api(b.url, 'GET', `/projects/team/webhooks/${hook.id}/deliveries`, ADMIN));
    const first = log.items.find((d: any) => d.messageId === firstId);
    assert.ok(first.attempts >= 3, `attempts ${first.attempts}`);
    assert.equal(first.status, 'delivered');
  });

  it("resumes a subscription whose drain lease a killed node left behind, once the lease runs out", async () => {
    rx.requests.length = 0;
    rx.answer = 200;
    // A node that died while draining this subscription: its lease stays until it runs out.
    // (Taken once the live node let go of it after the deliveries of the test before.)
    let now = 0;
    await eventually(async () => b.berth.meta.leases.acquire(`webhook:${hook.id}`, 'a-killed-node', (now = Date.now()) + 1500, now), 10_000, 'the drain lease to be free');
    await push(b.url, ADMIN, 'team/app', 'after-crash');
    // The delivery job finds the lease held and comes back when it runs out; nothing is sent before.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(rx.requests.length, 0, 'nothing is sent while the lease is held');
    await rx.waitFor((r) => r.some((x) => x.status === 200 && JSON.parse(x.body).subject === 'team/app:after-crash'), 10_000, 'the delivery after the lease ran out');
    assert.ok(Date.now() - now >= 1500);
  });

  it('redelivers a logged delivery and sends a ping', async () => {
    rx.requests.length = 0;
    rx.answer = 200;
    const log = await ok(api(b.url, 'GET', `/projects/team/webhooks/${hook.id}/deliveries?limit=1`, ADMIN));
    assert.ok(log.next);
    const d = log.items[0];
    const again = await api(b.url, 'POST', `/projects/team/webhooks/${hook.id}/deliveries/${d.id}/redeliver`, ADMIN);
    assert.equal(again.status, 202);
    const ping = await api(b.url, 'POST', `/projects/team/webhooks/${hook.id}/ping`, ADMIN);
    assert.equal(ping.status, 202);
    // (Delivery is at least once: a retry of an earlier attempt whose answer was lost may come too.)
    await rx.waitFor((r) => r.some((x) => x.headers['webhook-id'] === d.messageId) && r.some((x) => JSON.parse(x.body).type === 'berth.ping'));
    const redelivered = rx.requests.find((x) => x.headers['webhook-id'] === d.messageId)!;
    new Webhook(hook.secret).verify(redelivered.body, redelivered.headers as Record<string, string>);
    const pingReq = rx.requests.find((x) => JSON.parse(x.body).type === 'berth.ping')!;
    assert.ok(rx.requests.indexOf(redelivered) < rx.requests.indexOf(pingReq), 'in the order they were asked for');
    const p = JSON.parse(pingReq.body);
    assert.ok(validateCloudEvent(p), JSON.stringify(validateCloudEvent.errors));
    new Webhook(hook.secret).verify(pingReq.body, pingReq.headers as Record<string, string>);
    // Unknown deliveries and webhooks are 404 problems; a bad id is 400.
    assert.equal((await api(b.url, 'POST', `/projects/team/webhooks/${hook.id}/deliveries/999999/redeliver`, ADMIN)).status, 404);
    assert.equal((await api(b.url, 'GET', `/projects/team/webhooks/x/deliveries`, ADMIN)).status, 400);
  });

  it('sends the Harbor payload format to a subscription that asks for it', async () => {
    const hrx = await new Receiver().start();
    try {
      await ok(api(b.url, 'POST', '/system/webhooks', ADMIN, { url: hrx.url, events: ['artifact.pushed'], format: 'harbor', secret: 'a-shared-secret-of-some-length' }));
      const digest = await push(b.url, ADMIN, 'team/harbor', 'h1');
      await hrx.waitFor((r) => r.length >= 1);
      const h = JSON.parse(hrx.requests[0]!.body);
      assert.equal(h.type, 'PUSH_ARTIFACT');
      assert.equal(h.event_data.repository.repo_full_name, 'team/harbor');
      assert.equal(h.event_data.repository.namespace, 'team');
      assert.deepEqual(h.event_data.resources[0], { digest, tag: 'h1', resource_url: 'team/harbor:h1' });
      // A raw (non-whsec_) secret signs with its UTF-8 bytes.
      new Webhook('a-shared-secret-of-some-length', { format: 'raw' }).verify(hrx.requests[0]!.body, hrx.requests[0]!.headers as Record<string, string>);
    } finally {
      await hrx.stop();
    }
  });

  it('gives failing deliveries up and disables the subscription, with an audit entry', async () => {
    const bad = await new Receiver().start();
    bad.answer = 503;
    try {
      const h = await ok(api(b.url, 'POST', '/projects/team/webhooks', ADMIN, { url: bad.url, events: ['artifact.pushed'] }));
      await push(b.url, ADMIN, 'team/app', 'd1');
      await push(b.url, ADMIN, 'team/app', 'd2');
      const disabled = await eventually(async () => {
        const w = await ok(api(b.url, 'GET', `/projects/team/webhooks/${h.id}`, ADMIN));
        return !w.enabled && w;
      }, 15_000, 'the webhook to be disabled');
      assert.match(disabled.disabledReason, /2 deliveries in a row failed/);
      const log = await ok(api(b.url, 'GET', `/projects/team/webhooks/${h.id}/deliveries`, ADMIN));
      assert.deepEqual(log.items.map((d: any) => d.status), ['failed', 'failed']);
      assert.ok(log.items.every((d: any) => d.responseStatus === 503));
      const audit = await ok(api(b.url, 'GET', '/audit?action=webhook.disable', ADMIN));
      assert.ok(audit.items.some((e: any) => e.resource === `webhook:${h.id}`), JSON.stringify(audit.items));
      // Disabled: a new push queues nothing for it... until it is enabled again.
      const before = bad.requests.length;
      await push(b.url, ADMIN, 'team/app', 'd3');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(bad.requests.length, before);
      bad.answer = 200;
      await ok(api(b.url, 'PATCH', `/projects/team/webhooks/${h.id}`, ADMIN, { enabled: true }));
      await ok(api(b.url, 'POST', `/projects/team/webhooks/${h.id}/ping`, ADMIN));
      await bad.waitFor((r) => r.some((x) => x.status === 200));
    } finally {
      await bad.stop();
    }
  });

  it('records every pull in the audit log, and as an outbox event only once a webhook consumes pulls', async () => {
    const pull = async () => {
      const r = await fetch(`${b.url}/v2/team/app/manifests/o1`, { headers: { Authorization: ADMIN, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      await ok(api(b.url, 'GET', '/audit?limit=1', ADMIN)); // reading the log first writes what is queued
    };
    const pullEvents = async () => (await b.berth.meta.events.after(0, 100_000)).filter((e) => e.type === 'audit.pull').length;
    const pullRows = async () => (await ok(api(b.url, 'GET', '/audit?action=pull&limit=1000', ADMIN))).items.length as number;
    const [events0, rows0] = [await pullEvents(), await pullRows()];
    await pull();
    assert.equal(await pullRows(), rows0 + 1, 'the pull is in the audit log');
    assert.equal(await pullEvents(), events0, 'no outbox event while no webhook consumes pulls');
    const sub = await ok(api(b.url, 'POST', '/system/webhooks', ADMIN, { url: rx.url, events: ['artifact.pulled'] }));
    await ok(api(b.url, 'PATCH', `/system/webhooks/${sub.id}`, ADMIN, { enabled: false }));
    await pull();
    assert.equal(await pullEvents(), events0, 'a disabled subscription consumes nothing');
    await ok(api(b.url, 'PATCH', `/system/webhooks/${sub.id}`, ADMIN, { enabled: true }));
    await pull();
    assert.equal(await pullEvents(), events0 + 1, 'the pull right after the subscription was enabled is an outbox event');
    await ok(api(b.url, 'DELETE', `/system/webhooks/${sub.id}`, ADMIN));
    await pull();
    assert.equal(await pullEvents(), events0 + 1, 'and none once it is gone');
  });

  it('sends artifact.pulled from the audit log of pulls', async () => {
    const prx = await new Receiver().start();
    try {
      await ok(api(b.url, 'POST', '/projects/team/webhooks', ADMIN, { url: prx.url, events: ['artifact.pulled'] }));
      const r = await fetch(`${b.url}/v2/team/app/manifests/o1`, { headers: { Authorization: ADMIN, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      await prx.waitFor((x) => x.length >= 1);
      const ev = JSON.parse(prx.requests[0]!.body);
      assert.equal(ev.type, 'berth.artifact.pulled');
      assert.equal(ev.subject, 'team/app:o1');
      assert.equal(ev.data.actor, 'admin');
      assert.ok(validateCloudEvent(ev), JSON.stringify(validateCloudEvent.errors));
    } finally {
      await prx.stop();
    }
  });

  it('checks input and permissions', async () => {
    assert.equal((await api(b.url, 'POST', '/projects/team/webhooks', ADMIN, { url: rx.url, events: ['nope'] })).status, 400);
    assert.equal((await api(b.url, 'POST', '/projects/team/webhooks', ADMIN, { url: 'ftp://example.com/', events: ['artifact.pushed'] })).status, 400);
    assert.equal((await api(b.url, 'POST', '/projects/none/webhooks', ADMIN, { url: rx.url, events: ['artifact.pushed'] })).status, 404);
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-123' }));
    await ok(api(b.url, 'PUT', '/projects/team/members/dev', ADMIN, { role: 'developer' }));
    const dev = basic('dev', 'dev-password-123');
    assert.equal((await api(b.url, 'POST', '/projects/team/webhooks', dev, { url: rx.url, events: ['artifact.pushed'] })).status, 403);
    assert.equal((await api(b.url, 'GET', '/system/webhooks', dev)).status, 403);
  });
});

describe('webhooks: SSRF guard', () => {
  let b: TestBerth;
  before(async () => {
    b = await startAuthBerth({ webhooks: { allowPrivateNetworks: false } });
  });
  after(async () => b?.close());

  it('refuses loopback, private and link-local URLs unless allowed', async () => {
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost:9/', 'http://10.1.2.3/', 'http://192.168.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:9/', 'http://[fd00::1]/', 'http://0.0.0.0/']) {
      const r = await api(b.url, 'POST', '/system/webhooks', ADMIN, { url, events: ['artifact.pushed'] });
      assert.equal(r.status, 403, `${url}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.detail, /allowPrivateNetworks/);
    }
    const list = await ok(api(b.url, 'GET', '/system/webhooks', ADMIN));
    assert.equal(list.items.length, 0);
  });

  it('classifies addresses', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '::1', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '0.0.0.0']) assert.ok(isPrivateAddress(a), a);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1']) assert.ok(!isPrivateAddress(a), a);
  });
});
