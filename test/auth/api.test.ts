/**
 * The management API and audit log: the /api/v1 route table walked (every route declares its
 * action, resource, schemas and audit event; lists page; the OpenAPI document lists them all;
 * nothing is registered beside the table), every registered /api and /auth route declares an
 * action (and every /v2 route); session login with cookie and CSRF; repository, tag and manifest
 * views; project admin bootstrap; and one audit entry asserted per kind of event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { apiRoutes } from '../../src/api/plugin.js';
import { openApiPath } from '../../src/api/openapi.js';
import { ACCOUNT_ACTIONS, PROJECT_ACTIONS, REPOSITORY_ACTIONS, SYSTEM_ACTIONS } from '../../src/policy/roles.js';
import { registryRoutes } from '../../src/registry/routes/index.js';
import { indexManifest, pushBlob, putManifest, randomBlob, sha256 } from '../helpers/oci.js';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';

describe('management API and audit log', () => {
  let b: TestBerth;

  before(async () => {
    b = await startAuthBerth();
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'team', public: false }));
  });
  after(() => b.close());

  test('the /api/v1 table: every route declares action, resource, schemas and audit event', () => {
    const actions = new Set<string>([...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS, ...SYSTEM_ACTIONS, ...ACCOUNT_ACTIONS]);
    assert.ok(apiRoutes.length >= 40, `${apiRoutes.length} routes`);
    const seen = new Set<string>();
    for (const r of apiRoutes) {
      const id = `${r.method} ${r.url}`;
      assert.ok(!seen.has(id), `${id} declared twice`);
      seen.add(id);
      for (const key of ['action', 'resource', 'summary', 'body', 'query', 'response', 'audit'] as const) assert.ok(key in r && r[key] !== undefined, `${id} declares no ${key}`);
      assert.ok(actions.has(r.action), `${id}: unknown action ${r.action}`);
      assert.equal(typeof r.resource, 'function', `${id}: resource`);
      assert.ok(r.summary.length > 0, `${id}: summary`);
      assert.ok(r.body === null || r.body instanceof z.ZodType, `${id}: body schema`);
      assert.ok(r.query === null || r.query instanceof z.ZodObject, `${id}: query schema`);
      assert.ok(r.response === null || r.response instanceof z.ZodType, `${id}: response schema`);
      // Reads write no audit event; every change names the one it writes.
      if (r.method === 'GET') assert.equal(r.audit, null, `${id}: a read declares an audit event`);
      else assert.ok(typeof r.audit === 'string' && r.audit.length > 0, `${id}: a write declares no audit event`);
      if (r.method === 'GET') assert.equal(r.body, null, `${id}: a GET takes no body`);
      if (r.response === null) assert.ok(r.status === undefined, `${id}: an empty answer is 204`);
      // One paging scheme: a list answers { items, next } and takes limit and cursor.
      const shape = r.response instanceof z.ZodObject ? r.response.shape : {};
      if ('items' in shape) {
        assert.ok('next' in shape, `${id}: a list answers next`);
        assert.ok(r.query && 'limit' in r.query.shape && 'cursor' in r.query.shape, `${id}: a list takes limit and cursor`);
      }
    }
  });

  test('the OpenAPI document lists every route of the table, and nothing is registered beside it', async () => {
    const doc = await ok(api(b.url, 'GET', '/openapi.json', undefined));
    assert.equal(doc.openapi, '3.1.0');
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { 'x-berth-action': string; 'x-berth-audit': string | null; responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        documented.add(`${method.toUpperCase()} ${path}`);
        assert.ok(op['x-berth-action'], `${method} ${path}: x-berth-action`);
        assert.ok('x-berth-audit' in op, `${method} ${path}: x-berth-audit`);
      }
    }
    for (const r of apiRoutes) {
      const op = doc.paths[`/api/v1${openApiPath(r.url)}`]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.url} documented`);
      assert.equal(op['x-berth-action'], r.action);
      assert.equal(op['x-berth-audit'], r.audit);
      if (r.response) assert.ok(Object.values(op.responses).some((x: any) => x.content?.['application/json']?.schema), `${r.method} ${r.url}: response schema`);
      if (r.body) assert.ok(op.requestBody, `${r.method} ${r.url}: request body`);
    }
    // Every route registered under /api/v1 is in the table (one route system) and documented.
    const registered = b.berth.app.routeActions.filter((t) => t.url.startsWith('/api/v1/'));
    for (const t of registered) {
      if (t.method === 'HEAD') continue;
      assert.ok(documented.has(`${t.method} ${openApiPath(t.url)}`), `${t.method} ${t.url} is registered but not in the route table`);
    }
  });

  test('every registered route declares an action', async () => {
    const table = b.berth.app.routeActions;
    assert.ok(table.length >= apiRoutes.length + 2);
    // A route without an action already fails the start; what can still go wrong is a name the
    // policy does not know (it would decide it as a system action: admins only, or nobody).
    const known = new Set<string>([...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS, ...SYSTEM_ACTIONS, ...ACCOUNT_ACTIONS]);
    for (const r of table) {
      const v2 = r.url === '/v2' || r.url.startsWith('/v2/');
      assert.ok(v2 ? r.action === 'registry-table' : known.has(r.action ?? ''), `${r.method} ${r.url} declares ${String(r.action)}, not an action of the policy`);
    }
    assert.ok(table.some((r) => r.action === 'registry-table') && table.some((r) => r.action === 'project.read'), 'the table holds /v2 and /api routes');
    for (const r of apiRoutes) assert.ok(table.some((t) => t.url === `/api/v1${r.url}` && t.method === r.method), `${r.method} ${r.url} registered`);
    assert.ok(table.some((t) => t.url === '/auth/token' && t.method === 'POST'));
    // /v2 dispatches through its own table: every entry declares its action.
    for (const r of registryRoutes) assert.ok(['base', 'catalog', 'pull', 'push', 'delete'].includes(r.action), `${r.method} ${r.name}`);
  });

  test('session login sets an HttpOnly SameSite=Strict cookie; writes need the CSRF token', async () => {
    const r = await api(b.url, 'POST', '/auth/login', undefined, { username: 'admin', password: 'admin-secret-1' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.user, { name: 'admin', admin: true });
    const setCookie = r.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /berth_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    const me = await api(b.url, 'GET', '/auth/me', undefined, undefined, { Cookie: cookie });
    assert.equal(me.status, 200);
    assert.equal(me.body.csrfToken, r.body.csrfToken);
    assert.equal((await api(b.url, 'POST', '/projects', undefined, { name: 'csrf' }, { Cookie: cookie })).status, 403);
    assert.equal((await api(b.url, 'POST', '/projects', undefined, { name: 'csrf' }, { Cookie: cookie, 'X-CSRF-Token': r.body.csrfToken })).status, 201);
    assert.equal((await api(b.url, 'POST', '/auth/logout', undefined, undefined, { Cookie: cookie, 'X-CSRF-Token': r.body.csrfToken })).status, 204);
    assert.equal((await api(b.url, 'GET', '/auth/me', undefined, undefined, { Cookie: cookie })).status, 401);
    const bad = await api(b.url, 'POST', '/auth/login', undefined, { username: 'admin', password: 'nope' });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  test('repositories, tags and manifests views', async () => {
    const auth = { Authorization: ADMIN };
    const realFetch = globalThis.fetch;
    globalThis.fetch = ((i: any, init: any = {}) => realFetch(i, { ...init, headers: { ...(init.headers ?? {}), ...auth } })) as typeof fetch;
    let indexDigest: string;
    let imageDigest: string;
    try {
      const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: { type: 'layers', diff_ids: [] } }));
      const layer = randomBlob(2000);
      await pushBlob(b.url, 'team/app', config);
      await pushBlob(b.url, 'team/app', layer);
      const image = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }] }));
      imageDigest = sha256(image);
      await putManifest(b.url, 'team/app', 'arm', image);
      const index = indexManifest([{ digest: imageDigest, size: image.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }]);
      indexDigest = sha256(index);
      await putManifest(b.url, 'team/app', 'multi', index, 'application/vnd.oci.image.index.v1+json');
    } finally {
      globalThis.fetch = realFetch;
    }
    const repos = await ok(api(b.url, 'GET', '/repositories?project=team', ADMIN));
    assert.equal(repos.items.length, 1);
    assert.equal(repos.items[0].name, 'team/app');
    assert.equal(repos.items[0].tagCount, 2);
    assert.ok(repos.items[0].sizeBytes > 2000);
    const repo = await ok(api(b.url, 'GET', `/repositories/${encodeURIComponent('team/app')}`, ADMIN));
    assert.deepEqual(repo.permissions, ['pull', 'push', 'delete']);
    const tags = await ok(api(b.url, 'GET', `/repositories/${encodeURIComponent('team/app')}/tags?limit=1`, ADMIN));
    assert.equal(tags.items[0].name, 'arm');
    assert.deepEqual(tags.items[0].platforms, [{ os: 'linux', architecture: 'arm64', variant: 'v8' }]);
    assert.ok(tags.next);
    const tags2 = await ok(api(b.url, 'GET', `/repositories/${encodeURIComponent('team/app')}/tags?limit=1&cursor=${tags.next}`, ADMIN));
    assert.equal(tags2.items[0].name, 'multi');
    assert.equal(tags2.next, null);
    assert.ok(tags2.items[0].size > tags.items[0].size, 'an index counts its children');
    const m = await ok(api(b.url, 'GET', `/repositories/${encodeURIComponent('team/app')}/manifests/${imageDigest}`, ADMIN));
    assert.equal(m.config.architecture, 'arm64');
    assert.equal(m.layers.length, 1);
    assert.deepEqual(m.tags, ['arm']);
    const idx = await ok(api(b.url, 'GET', `/repositories/${encodeURIComponent('team/app')}/manifests/${indexDigest}`, ADMIN));
    assert.equal(idx.children[0].platform.architecture, 'arm64');
    assert.equal((await api(b.url, 'DELETE', `/repositories/${encodeURIComponent('team/app')}/tags/multi`, ADMIN)).status, 204);
    assert.equal((await api(b.url, 'GET', `/repositories/${encodeURIComponent('team/app')}`, undefined)).status, 401);
  });

  test('an audit entry for each kind of event', async () => {
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'aud', password: 'aud-password-1' }));
    await ok(api(b.url, 'PUT', '/projects/team/members/aud', ADMIN, { role: 'developer' }));
    await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('aud', 'wrong-password') } });
    await fetch(`${b.url}/v2/team/app/manifests/arm`, { headers: { Authorization: basic('aud', 'aud-password-1') } });
    await fetch(`${b.url}/auth/token?service=berth&scope=repository:team/app:pull`, { headers: { Authorization: basic('aud', 'aud-password-1') } });
    const robot = await ok(api(b.url, 'POST', '/projects/team/robots', ADMIN, { name: 'r', permissions: ['pull'] }));
    await api(b.url, 'DELETE', `/projects/team/robots/r`, ADMIN);
    const tok = await ok(api(b.url, 'POST', '/users/aud/tokens', ADMIN, { name: 't' }));
    await api(b.url, 'DELETE', `/users/aud/tokens/${tok.id}`, ADMIN);
    await api(b.url, 'PATCH', '/projects/team', ADMIN, { public: true });
    await api(b.url, 'DELETE', '/projects/team/members/aud', ADMIN);
    const all = (await ok(api(b.url, 'GET', '/audit?limit=1000', ADMIN))).items as { action: string; actor: string; result: string; resource: string; sourceAddress: string; at: string; project: string | null }[];
    const find = (action: string, pred: (e: (typeof all)[number]) => boolean = () => true) => all.find((e) => e.action === action && pred(e));
    assert.ok(find('login', (e) => e.actor === 'aud' && e.result === 'failure'), 'failed login');
    assert.ok(find('login', (e) => e.actor === 'aud' && e.result === 'success'), 'login');
    assert.ok(find('pull', (e) => e.actor === 'aud' && e.resource === 'team/app:arm' && e.result === 'success' && e.project === 'team'), 'pull');
    assert.ok(find('push', (e) => e.actor === 'admin' && e.resource === 'team/app:multi'), 'push');
    assert.ok(find('delete', (e) => e.resource === 'team/app:multi'), 'delete');
    assert.ok(find('token.issue', (e) => e.actor === 'aud'), 'token issue');
    for (const a of ['user.create', 'member.set', 'member.remove', 'robot.create', 'robot.delete', 'token.create', 'token.delete', 'project.create', 'project.update']) assert.ok(find(a), a);
    const one = find('pull')!;
    assert.equal(one.sourceAddress, '127.0.0.1');
    assert.ok(Date.parse(one.at) > Date.now() - 60_000);
    assert.equal(robot.name, 'robot$team+r');
    // Filters and keyset paging.
    const mine = await ok(api(b.url, 'GET', '/audit?user=aud&action=login', ADMIN));
    assert.ok(mine.items.every((e: { actor: string; action: string }) => e.actor === 'aud' && e.action === 'login'));
    const p1 = await ok(api(b.url, 'GET', '/audit?limit=2', ADMIN));
    const p2 = await ok(api(b.url, 'GET', `/audit?limit=2&cursor=${p1.next}`, ADMIN));
    // Newest first by time, then id: the second page starts below the first page's last entry.
    const [first, last] = [p2.items[0], p1.items[1]] as { at: string; id: number }[];
    assert.ok(Date.parse(first!.at) < Date.parse(last!.at) || (first!.at === last!.at && first!.id < last!.id));
    // A project member without audit.read is refused; the whole log is for system admins.
    assert.equal((await api(b.url, 'GET', '/audit', basic('aud', 'aud-password-1'))).status, 403);
  });

  test('problems carry their code; an invalid body, query or cursor is INVALID (400) on every route family', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/projects', { name: 42 }],
      ['POST', '/users', { name: 'x' }],
      ['PUT', '/projects/team/quota', { bytes: 'lots' }],
      ['POST', '/gc', { dryRun: 'yes' }],
      ['POST', '/trash/restore', {}],
      ['GET', '/projects?cursor=%%%', undefined],
      ['GET', '/gc?limit=ten', undefined],
      ['GET', '/trash?cursor=12', undefined],
    ];
    for (const [method, path, body] of cases) {
      const r = await api(b.url, method, path, ADMIN, body);
      assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'INVALID', `${method} ${path}`);
      assert.equal(r.body.title, 'Bad Request');
    }
    const missing = await api(b.url, 'GET', '/projects/nope', ADMIN);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
  });

  test('every list pages the same way: a large limit is clamped, the cursor is opaque', async () => {
    for (const path of ['/projects', '/users', '/projects/team/members', '/projects/team/robots', '/users/me/tokens', '/repositories', '/audit', '/gc', '/retention/runs', '/trash', '/usage']) {
      const r = await api(b.url, 'GET', `${path}?limit=100000`, ADMIN);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      assert.ok(Array.isArray(r.body.items) && 'next' in r.body, path);
    }
    await ok(api(b.url, 'POST', '/gc', ADMIN, { dryRun: true }));
    await ok(api(b.url, 'POST', '/gc', ADMIN, { dryRun: true })).catch(() => undefined);
    const first = await ok(api(b.url, 'GET', '/gc?limit=1', ADMIN));
    assert.equal(first.items.length, 1);
    if (first.next !== null) {
      assert.ok(!/^\d+$/.test(first.next), 'the cursor is opaque');
      const second = await ok(api(b.url, 'GET', `/gc?limit=1&cursor=${first.next}`, ADMIN));
      assert.ok(second.items.every((x: { id: number }) => x.id < first.items[0].id));
    }
  });

  test('answers match their declared response schemas (the UI types come from them)', async () => {
    // After the tests above: team has members, content, settings, runs and audit events.
    await ok(api(b.url, 'PUT', '/projects/team/retention', ADMIN, { rules: [{ keep: { kind: 'lastPushed', count: 5 } }] }));
    await ok(api(b.url, 'POST', '/projects/team/robots', ADMIN, { name: 'shape', permissions: ['pull'] }));
    const repo = encodeURIComponent('team/app');
    const tags = await ok(api(b.url, 'GET', `/repositories/${repo}/tags`, ADMIN));
    const paths: [string, string][] = [
      ['/auth/me', '/auth/me'],
      ['/projects', '/projects'],
      ['/projects/:name', '/projects/team'],
      ['/projects/:name/members', '/projects/team/members'],
      ['/projects/:name/robots', '/projects/team/robots'],
      ['/users', '/users'],
      ['/users/:name/tokens', '/users/me/tokens'],
      ['/repositories', '/repositories'],
      ['/repositories/:repo', `/repositories/${repo}`],
      ['/repositories/:repo/tags', `/repositories/${repo}/tags`],
      ['/repositories/:repo/manifests/:digest', `/repositories/${repo}/manifests/${tags.items[0].digest}`],
      ['/audit', '/audit?limit=500'],
      ['/gc', '/gc'],
      ['/retention/runs', '/retention/runs'],
      ['/trash', '/trash'],
      ['/usage', '/usage'],
      ['/projects/:name/retention', '/projects/team/retention'],
      ['/projects/:name/immutability', '/projects/team/immutability'],
      ['/projects/:name/quota', '/projects/team/quota'],
      ['/projects/:name/usage', '/projects/team/usage'],
    ];
    for (const [url, path] of paths) {
      const route = apiRoutes.find((r) => r.method === 'GET' && r.url === url)!;
      assert.ok(route?.response, url);
      const body = await ok(api(b.url, 'GET', path, ADMIN));
      const r = route.response.safeParse(body);
      assert.ok(r.success, `${path}: ${r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))}`);
    }
    const runs = (await ok(api(b.url, 'GET', '/gc', ADMIN))).items;
    if (runs.length > 0) assert.ok(apiRoutes.find((r) => r.url === '/gc/:id')!.response!.safeParse(await ok(api(b.url, 'GET', `/gc/${runs[0].id}`, ADMIN))).success);
  });

  test('lifecycle changes write the audit events their routes declare', async () => {
    await ok(api(b.url, 'PUT', '/projects/team/quota', ADMIN, { bytes: 1_000_000 }));
    await ok(api(b.url, 'PUT', '/projects/team/immutability', ADMIN, { rules: [{ name: 'releases', tags: ['v*'] }] }));
    assert.equal((await api(b.url, 'DELETE', '/projects/team/quota', ADMIN)).status, 204);
    const events = (await ok(api(b.url, 'GET', '/audit?project=team&limit=1000', ADMIN))).items.map((e: { action: string }) => e.action);
    for (const action of ['quota.set', 'immutability.set', 'quota.delete']) assert.ok(events.includes(action), `${action} in ${events.join(',')}`);
  });
});
