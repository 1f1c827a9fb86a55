/**
 * External scanners through Harbor's Pluggable Scanner API v1.1, against a small adapter the
 * test serves on loopback: it implements the spec's three endpoints and, like a real adapter,
 * pulls the image from Berth with the registry URL and Authorization header of the scan
 * request (proving the short-lived token pulls that repository and nothing else). The test
 * holds each report (302 with Refresh-After) until it releases it, so the status sequence
 * pending -> running -> done is observed through the API; then the findings are stored and
 * judged like the built-in scanner's (report, search, pull gate), and scan metrics appear on
 * /metrics.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { imageManifest, randomBlob, sha256 } from '../helpers/oci.js';
import { run } from '../helpers/tools.js';
import { ROOT } from './fixtures.js';

const REPORT_TYPE = 'application/vnd.security.vulnerability.report; version=1.1';
const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

interface ScanSeen {
  request: { registry: { url: string; authorization?: string }; artifact: { repository: string; digest: string; mime_type: string } };
  pulled: number;
  otherRepo: number;
  push: number;
  release: () => void;
  released: Promise<void>;
  ready: boolean;
  accept: string[];
}

/** A Pluggable Scanner API adapter that scans by pulling the manifest from the registry it is given. */
function startAdapter(secret: string) {
  const scans = new Map<string, ScanSeen>();
  const seenAuth: (string | undefined)[] = [];
  const read = (req: IncomingMessage) => new Promise<string>((res) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString('utf8')));
    req.on('end', () => res(s));
  });
  let n = 0;
  const server: Server = createServer(async (req, res) => {
    seenAuth.push(req.headers.authorization);
    const send = (status: number, type: string, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${secret}`) return send(401, 'application/vnd.scanner.adapter.error+json; version=1.0', { error: { message: 'unauthorized' } });
    if (req.method === 'GET' && req.url === '/api/v1/metadata') {
      return send(200, 'application/vnd.scanner.adapter.metadata+json; version=1.0', {
        scanner: { name: 'TestScan', vendor: 'Berth tests', version: '1.2.3' },
        capabilities: [{ consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'], produces_mime_types: ['application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0', REPORT_TYPE] }],
        properties: { 'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability' },
      });
    }
    if (req.method === 'POST' && req.url === '/api/v1/scan') {
      if (req.headers['content-type'] !== 'application/vnd.scanner.adapter.scan.request+json; version=1.0') return send(400, 'application/json', { error: { message: 'bad content type' } });
      const request = JSON.parse(await read(req)) as ScanSeen['request'];
      const id = `scan-${++n}`;
      let release!: () => void;
      const seen: ScanSeen = { request, pulled: 0, otherRepo: 0, push: 0, release: () => release(), released: new Promise<void>((r) => (release = r)), ready: false, accept: [] };
      scans.set(id, seen);
      const auth: Record<string, string> = request.registry.authorization ? { authorization: request.registry.authorization } : {};
      // Scan as an adapter does: pull the manifest with the credentials given; also try what the token must not allow.
      void (async () => {
        const m = await fetch(`${request.registry.url}/v2/${request.artifact.repository}/manifests/${request.artifact.digest}`, { headers: { ...auth, accept: request.artifact.mime_type } });
        const body = Buffer.from(await m.arrayBuffer());
        seen.pulled = m.status === 200 && sha256(body) === request.artifact.digest ? 200 : m.status;
        seen.otherRepo = (await fetch(`${request.registry.url}/v2/secret/other/manifests/latest`, { headers: auth })).status;
        seen.push = (await fetch(`${request.registry.url}/v2/${request.artifact.repository}/blobs/uploads/`, { method: 'POST', headers: auth })).status;
        await seen.released;
        seen.ready = true;
      })();
      return send(202, 'application/vnd.scanner.adapter.scan.response+json; version=1.0', { id });
    }
    const m = /^\/api\/v1\/scan\/([^/]+)\/report$/.exec(req.url ?? '');
    if (req.method === 'GET' && m) {
      const seen = scans.get(decodeURIComponent(m[1]!));
      if (!seen) return send(404, 'application/json', { error: { message: 'no such scan' } });
      seen.accept.push(String(req.headers.accept));
      if (!seen.ready) return send(302, 'application/json', undefined, { 'Refresh-After': '0' });
      return send(200, REPORT_TYPE, {
        generated_at: new Date().toISOString(),
        artifact: seen.request.artifact,
        scanner: { name: 'TestScan', vendor: 'Berth tests', version: '1.2.3' },
        severity: 'Critical',
        vulnerabilities: [
          { id: 'CVE-2099-7001', package: 'openssl', version: '3.0.1-1', fix_version: '3.0.2-1', severity: 'Critical', description: 'a test flaw', cvss3_vector: CRITICAL, links: [] },
          { id: 'CVE-2099-7002', package: 'zlib', version: '1.2.13', severity: 'Low', description: 'minor' },
        ],
      });
    }
    send(404, 'application/json', { error: { message: 'not found' } });
  });
  return {
    scans,
    seenAuth,
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Pushes an image with the admin's credentials; returns its digest. */
async function push(url: string, repo: string, tag: string): Promise<string> {
  const headers = { authorization: ADMIN };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const layer = randomBlob(500);
  for (const b of [config, layer]) {
    const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(b)}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(b) });
    assert.equal(r.status, 201, await r.text());
  }
  const manifest = imageManifest(config, [layer]);
  const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: new Uint8Array(manifest) });
  assert.equal(r.status, 201, await r.text());
  return sha256(manifest);
}

describe('external scanners (Harbor Pluggable Scanner API)', { timeout: 120_000 }, () => {
  let t: TestBerth;
  const adapter = startAdapter('adapter-secret');
  let adapterUrl: string;
  const report = async (repo: string, digest: string) => ok(api(t.url, 'GET', `/repositories/${encodeURIComponent(repo)}/manifests/${digest}/vulnerabilities`, ADMIN));
  async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 400; i++) {
      const v = await f();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const scanOf = (digest: string) => [...adapter.scans.values()].find((s) => s.request.artifact.digest === digest);

  before(async () => {
    adapterUrl = await adapter.listen();
    // One job at a time: while the first scan is held, the second waits in the queue.
    t = await startAuthBerth({ jobs: { enabled: true, concurrency: 1, pollMs: 20, leaseSeconds: 60 }, scanning: { onPush: true, gateCacheEntries: 1000, databaseRepository: null } });
    for (const name of ['ext', 'secret']) await ok(api(t.url, 'POST', '/projects', ADMIN, { name }));
  });
  after(async () => {
    await t?.close();
    await adapter.close();
  });

  it('refuses to register an adapter that does not answer as the API says, and changes nothing', async () => {
    const wrongSecret = await api(t.url, 'PUT', '/scanners/test', ADMIN, { url: adapterUrl, authorization: 'Bearer wrong', registryUrl: t.url, default: true });
    assert.equal(wrongSecret.status, 400);
    assert.match(wrongSecret.body.detail, /401/);
    const closed = await api(t.url, 'PUT', '/scanners/test', ADMIN, { url: 'http://127.0.0.1:9/', registryUrl: t.url, default: true });
    assert.equal(closed.status, 400);
    assert.equal((await api(t.url, 'PUT', '/scanners/Bad Name', ADMIN, { url: adapterUrl, registryUrl: t.url })).status, 400);
    assert.equal((await api(t.url, 'PUT', '/scanners/x', ADMIN, { url: 'ftp://example/', registryUrl: t.url })).status, 400);
    assert.deepEqual((await ok(api(t.url, 'GET', '/scanners', ADMIN))).scanners, []);
    assert.equal((await api(t.url, 'GET', '/scanners', undefined)).status, 401);
  });

  it('registers an adapter with the CLI; its secret is sealed and never shown', async () => {
    const token = await ok(api(t.url, 'POST', '/users/admin/tokens', ADMIN, { name: 'cli' }));
    const work = await mkdtemp(join(tmpdir(), 'berth-scanner-cli-'));
    try {
      const env = { BERTH_CLI_CONFIG: join(work, 'cli.json'), BERTH_SCANNER_AUTHORIZATION: 'Bearer adapter-secret' };
      await writeFile(env.BERTH_CLI_CONFIG, JSON.stringify({ url: t.url, user: 'admin', token: token.token }));
      const berth = (...args: string[]) => run(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], { env });
      assert.equal((await berth('scanner', 'set', 'test', adapterUrl, '--registry-url', t.url, '--default')).stdout, 'scanner test: TestScan 1.2.3 (default)\n');
      assert.match((await berth('scanner', 'list')).stdout, /^NAME\s+URL\s+REGISTRY URL\s+DEFAULT\s+HAS AUTHORIZATION\ntest\s+http:\/\/127\.0\.0\.1:\d+\s+http:\/\/127\.0\.0\.1:\d+\s+true\s+true\n$/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const list = (await ok(api(t.url, 'GET', '/scanners', ADMIN))).scanners;
    assert.equal(list.length, 1);
    assert.equal(list[0].hasAuthorization, true);
    assert.equal(list[0].default, true);
    assert.ok(!JSON.stringify(list).includes('adapter-secret'));
  });

  it('scans through the adapter: pending, running, done; the token pulls that repository only', async () => {
    adapter.seenAuth.length = 0;
    const first = await push(t.url, 'ext/app', 'one');
    const firstScan = await until('the first scan request', async () => scanOf(first));
    const second = await push(t.url, 'ext/app', 'two');
    // The first is held by the adapter, so the second waits in the queue: recorded pending.
    assert.equal((await report('ext/app', second)).status, 'pending');
    assert.equal((await report('ext/app', first)).status, 'running');
    firstScan.release();
    const done = await until('the first result', async () => {
      const r = await report('ext/app', first);
      return r.status === 'done' ? r : undefined;
    });
    const secondScan = await until('the second scan request', async () => scanOf(second));
    assert.equal((await report('ext/app', second)).status, 'running');
    secondScan.release();
    await until('the second result', async () => ((await report('ext/app', second)).status === 'done' ? true : undefined));

    // What the adapter was sent and could do with it.
    assert.equal(firstScan.request.registry.url, t.url);
    assert.match(firstScan.request.registry.authorization ?? '', /^Bearer /);
    assert.deepEqual(firstScan.request.artifact, { repository: 'ext/app', digest: first, mime_type: 'application/vnd.oci.image.manifest.v1+json' });
    await until('the adapter pull', async () => (firstScan.push ? true : undefined));
    assert.equal(firstScan.pulled, 200, 'the token pulls the image');
    assert.ok([401, 403].includes(firstScan.otherRepo), `another repository: ${firstScan.otherRepo}`);
    assert.ok([401, 403].includes(firstScan.push), `a push: ${firstScan.push}`);
    assert.ok(firstScan.accept.every((a) => a === REPORT_TYPE), firstScan.accept.join(' | '));
    assert.ok(adapter.seenAuth.length > 0 && adapter.seenAuth.every((a) => a === 'Bearer adapter-secret'), 'Berth sends the registered Authorization header');

    // Stored like the built-in scanner's findings.
    assert.equal(done.scanner, 'harbor:test');
    assert.equal(done.database.version, 'TestScan 1.2.3');
    assert.deepEqual(done.vulnerabilities.map((v: any) => [v.id, v.package, v.installedVersion, v.fixedVersion, v.severity]), [
      ['CVE-2099-7001', 'openssl', '3.0.1-1', '3.0.2-1', 'critical'],
      ['CVE-2099-7002', 'zlib', '1.2.13', null, 'low'],
    ]);
    assert.equal(done.vulnerabilities[0].cvss.score, 9.8);
    assert.equal(done.summary.critical, 1);
    const found = (await ok(api(t.url, 'GET', '/vulnerabilities/search?id=CVE-2099-7001', ADMIN))).results;
    assert.deepEqual(found.map((f: any) => f.digest).sort(), [first, second].sort());

    // The same gate.
    await ok(api(t.url, 'PUT', '/projects/ext/security', ADMIN, { blockSeverity: 'high' }));
    const denied = await fetch(`${t.url}/v2/ext/app/manifests/one`, { headers: { authorization: ADMIN, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /CVE-2099-7001 \(critical\)/);
    await ok(api(t.url, 'PUT', '/projects/ext/security', ADMIN, { blockSeverity: 'high', allowlist: [{ id: 'CVE-2099-7001' }] }));
    assert.equal((await fetch(`${t.url}/v2/ext/app/manifests/one`, { headers: { authorization: ADMIN } })).status, 200);
  });

  it('with blockUnscanned, the scanner pulls the image it scans and nobody else does; the finished scan then decides', async () => {
    await ok(api(t.url, 'POST', '/projects', ADMIN, { name: 'gated' }));
    await ok(api(t.url, 'POST', '/users', ADMIN, { name: 'dev', password: 'dev-password-1' }));
    await ok(api(t.url, 'PUT', '/projects/gated/members/dev', ADMIN, { role: 'developer' }));
    await ok(api(t.url, 'PUT', '/projects/gated/security', ADMIN, { blockUnscanned: true, blockSeverity: 'high' }));
    const dev = basic('dev', 'dev-password-1');
    // The account asks the token endpoint for the scanner's grant too: it gets pull only.
    const issued = (await (await fetch(`${t.url}/auth/token?service=berth&scope=repository:gated/app:pull,scanner-pull`, { headers: { authorization: dev } })).json()) as { token: string };
    assert.deepEqual(JSON.parse(Buffer.from(issued.token.split('.')[1]!, 'base64url').toString('utf8')).access, [{ type: 'repository', name: 'gated/app', actions: ['pull'] }]);
    const pullAs = (authorization: string) => fetch(`${t.url}/v2/gated/app/manifests/v1`, { headers: { authorization, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const refusal = async (r: Response): Promise<string> => {
      assert.equal(r.status, 403);
      const e = ((await r.json()) as { errors: { code: string; detail: { reason: string } }[] }).errors[0]!;
      assert.equal(e.code, 'DENIED');
      return e.detail.reason;
    };
    // A result commits a moment before the gates are told of it (service.ts): the API may read
    // `done` while a pull is still judged by the verdict before it, so wait for the new one.
    const refusedFor = (why: RegExp) => until(`a refusal matching ${why}`, async () => {
      const reason = await refusal(await pullAs(dev));
      return why.test(reason) ? reason : undefined;
    });
    const scansOf = (digest: string) => [...adapter.scans.values()].filter((s) => s.request.artifact.digest === digest);

    const digest = await push(t.url, 'gated/app', 'v1');
    const scan = await until('the scan request', async () => scansOf(digest)[0]);
    await until('the adapter pull', async () => (scan.push ? true : undefined));
    assert.equal(scan.pulled, 200, 'the scanner pulls the unscanned image');
    assert.ok([401, 403].includes(scan.push), 'and still cannot push');
    for (const who of [dev, `Bearer ${issued.token}`, ADMIN]) assert.match(await refusal(await pullAs(who)), /not been scanned for vulnerabilities yet \(running\)/);

    scan.release();
    await until('the result', async () => ((await report('gated/app', digest)).status === 'done' ? true : undefined));
    await refusedFor(/CVE-2099-7001 \(critical\)/); // scanned: the severity policy decides

    // Scanned again on demand, the image its findings block is still read by the scanner.
    assert.equal((await api(t.url, 'POST', `/repositories/gated%2Fapp/manifests/${digest}/scan`, ADMIN)).status, 202);
    const again = await until('the second scan request', async () => scansOf(digest)[1]);
    await until('the adapter pull', async () => (again.push ? true : undefined));
    assert.equal(again.pulled, 200, 'the scanner pulls an image the policy blocks');
    assert.match(await refusal(await pullAs(dev)), /CVE-2099-7001 \(critical\)/, 'judged by the last finished scan meanwhile');
    again.release();
    await until('the second result', async () => ((await report('gated/app', digest)).status === 'done' ? true : undefined));
    await ok(api(t.url, 'PUT', '/projects/gated/security', ADMIN, { blockUnscanned: true, blockSeverity: 'high', allowlist: [{ id: 'CVE-2099-7001' }] }));
    assert.equal((await pullAs(dev)).status, 200, 'the low finding left passes a high threshold');
  });

  it('a failing adapter marks the scan failed with the reason; metrics count scans, failures and the queue', async () => {
    await adapter.close();
    const digest = await push(t.url, 'ext/app', 'three');
    const r = await until('the failed result', async () => {
      const x = await report('ext/app', digest);
      return x.status === 'failed' ? x : undefined;
    });
    assert.match(r.reason, /the scanner test failed: GET metadata: .*ECONNREFUSED/);
    // The scan is counted once its result has committed and been announced: the API can read
    // `failed` a moment before the metrics have it.
    const text = await until('the failed scan counted', async () => {
      const m = await (await fetch(`${t.url}/metrics`)).text();
      return /^berth_scan_failures_total\{scanner="harbor:test"\} 1$/m.test(m) ? m : undefined;
    });
    assert.match(text, /^berth_scan_duration_seconds_count\{scanner="harbor:test",status="done"\} 4$/m);
    assert.match(text, /^berth_scan_duration_seconds_count\{scanner="harbor:test",status="failed"\} 1$/m);
    assert.match(text, /^berth_scan_failures_total\{scanner="harbor:test"\} 1$/m);
    assert.match(text, /^berth_scan_queue_length \d+$/m);
    // Removing the default scanner sends scans back to the built-in one.
    assert.equal((await api(t.url, 'DELETE', '/scanners/test', ADMIN)).status, 204);
    assert.equal((await api(t.url, 'DELETE', '/scanners/test', ADMIN)).status, 404);
  });
});
