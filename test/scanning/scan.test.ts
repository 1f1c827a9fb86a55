/**
 * Scanning end to end on a real server: images pushed over /v2 are scanned by the job queue;
 * an OSV database (validated against the published schema) is imported over the API as a
 * .tar.gz and a .zip; findings follow each ecosystem's version order and range kinds; a
 * database change rescans stored inventories without reading a layer; a layer that is not an
 * archive fails the scan, not the push; the project policy refuses pulls with DENIED (also
 * through skopeo and podman, whose output shows the reason), an allowlist lets them through until it
 * expires, and other projects are unaffected.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Digest } from '../../src/domain/names.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { pushImage } from '../helpers/oci.js';
import { missingTools, run } from '../helpers/tools.js';
import { ROOT, apkInstalled, cycloneDxErrors, gzipLayer, hostBinariesOf, hostDpkg, spdxErrors, hostWheels, npmPackage, tarOf, validateOsv, zstdLayer } from './fixtures.js';

const CVSS_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'; // 9.8
const CVSS4_MEDIUM = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N'; // 6.9

const libc = hostDpkg('libc6');
const wheel = hostWheels()[0]!;
const semver = npmPackage('semver');

/** Advisories aimed at what the images hold: some affect it, some must not. */
function advisories(): Record<string, unknown>[] {
  const modified = '2026-01-01T00:00:00Z';
  return [
    // Affects: the installed glibc is below the fix (dpkg order), named by source package.
    { id: 'DEBIAN-CVE-2099-0001', modified, aliases: ['CVE-2099-0001'], summary: 'glibc overflow', severity: [{ type: 'CVSS_V3', score: CVSS_CRITICAL }], affected: [{ package: { ecosystem: 'Debian:12', name: libc.source }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `${libc.version}+fix1` }] }] }] },
    // Does not affect: fixed long before the installed version.
    { id: 'DEBIAN-CVE-2099-0002', modified, aliases: ['CVE-2099-0002'], affected: [{ package: { ecosystem: 'Debian:12', name: libc.source }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0-1' }] }] }], severity: [{ type: 'CVSS_V3', score: CVSS_CRITICAL }] },
    // Another Debian release: must not match Debian 12.
    { id: 'DEBIAN-CVE-2099-0003', modified, affected: [{ package: { ecosystem: 'Debian:11', name: libc.source }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }] },
    // SEMVER range with a fix, rated by the database only (GHSA's MODERATE).
    { id: 'GHSA-test-semv-0001', modified, aliases: ['CVE-2099-1000'], database_specific: { severity: 'MODERATE' }, affected: [{ package: { ecosystem: 'npm', name: 'semver' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '7.0.0' }, { fixed: '7.99.0' }] }] }] },
    // Listed versions only, CVSS v4.
    { id: 'PYSEC-2099-1', modified, severity: [{ type: 'CVSS_V4', score: CVSS4_MEDIUM }], affected: [{ package: { ecosystem: 'PyPI', name: wheel.name }, versions: [wheel.version] }] },
    // apk: last_affected below the installed revision (not affected) and a fix above (affected).
    { id: 'ALPINE-CVE-2099-0010', modified, affected: [{ package: { ecosystem: 'Alpine:v3.19', name: 'busybox' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '1.36.1-r4' }] }] }] },
    { id: 'ALPINE-CVE-2099-0011', modified, severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N' }], affected: [{ package: { ecosystem: 'Alpine:v3.19', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '3.1.0-r0' }, { fixed: '3.1.4-r6' }] }] }] },
  ];
}

/** Added by the second import: the rescan must find it without reading layers. */
const LATER = { id: 'DEBIAN-CVE-2099-0100', modified: '2026-02-01T00:00:00Z', aliases: ['CVE-2099-0100'], severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N' }], affected: [{ package: { ecosystem: 'Debian', name: 'libc6' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.30-1' }] }] }] };

async function tarGz(docs: Record<string, unknown>[]): Promise<Buffer> {
  return gzipSync(await tarOf(docs.map((d) => ({ name: `osv/${String(d.id)}.json`, data: JSON.stringify(d) }))));
}

describe('vulnerability scanning', { skip: missingTools('zstd', 'zip', 'skopeo', 'podman'), timeout: 180_000 }, () => {
  let t: TestBerth;
  let work: string;
  let debian: string;
  let alpine: string;
  let broken: string;
  let other: string;

  const api = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const r = await fetch(`${t.url}/api/v1${path}`, { method, ...(body !== undefined ? { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body), headers: { 'content-type': contentType } } : {}) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  const report = async (repo: string, digest: string, q = '') => (await api('GET', `/repositories/${encodeURIComponent(repo)}/manifests/${digest}/vulnerabilities${q}`)).body;
  async function settled(repo: string, digest: string, dbVersion?: string) {
    for (let i = 0; i < 400; i++) {
      const r = await report(repo, digest);
      if ((r.status === 'done' || r.status === 'failed') && (dbVersion === undefined || r.database.version === dbVersion)) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`scan of ${repo}@${digest} did not settle`);
  }
  const pull = (repo: string, ref: string) => fetch(`${t.url}/v2/${repo}/manifests/${ref}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-scan-'));
    t = await startBerth({ jobs: { enabled: true, concurrency: 2, pollMs: 50, leaseSeconds: 60 }, scanning: { onPush: true, gateCacheEntries: 1000, databaseRepository: 'security/osv' } });
    const docs = advisories();
    await validateOsv([...docs, LATER]);
    const imported = await api('POST', '/vulnerability-db', await tarGz(docs), 'application/gzip');
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    assert.equal(imported.body.imported, docs.length);

    debian = (
      await pushImage(t.url, 'secure/debian', 'v1', {
        layers: [
          await gzipLayer([
            { name: 'etc/os-release', data: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' },
            { name: 'var/lib/dpkg/status', data: await import('node:fs').then((f) => f.readFileSync('/var/lib/dpkg/status')) },
            { name: `usr/lib/python3/dist-packages/${wheel.dir}/METADATA`, data: wheel.metadata },
            { name: 'srv/app/node_modules/semver/package.json', data: semver.json },
          ]),
          await zstdLayer([{ name: 'srv/app/README', data: 'zstd layer' }]),
        ],
      })
    ).digest;
    alpine = (
      await pushImage(t.url, 'secure/alpine', 'v1', {
        layers: [
          await gzipLayer([
            { name: 'etc/os-release', data: 'ID=alpine\nVERSION_ID=3.19.1\n' },
            { name: 'lib/apk/db/installed', data: apkInstalled([{ name: 'busybox', version: '1.36.1-r5' }, { name: 'libcrypto3', version: '3.1.4-r5', origin: 'openssl' }]) },
          ]),
        ],
      })
    ).digest;
    broken = (await pushImage(t.url, 'secure/broken', 'v1', { layers: [Buffer.from('not an archive '.repeat(100))] })).digest;
    // The same vulnerable content in another project, which sets no policy.
    other = (await pushImage(t.url, 'open/debian', 'v1', { layers: [await gzipLayer([{ name: 'etc/os-release', data: 'ID=debian\nVERSION_ID=12\n' }, { name: 'var/lib/dpkg/status', data: `Package: libc6\nStatus: install ok installed\nSource: ${libc.source}\nVersion: ${libc.version}\n` }])] })).digest;
  });

  after(async () => {
    await t?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('scans pushed images and finds exactly the advisories that affect their versions', async () => {
    const d = await settled('secure/debian', debian);
    assert.equal(d.status, 'done', d.reason);
    const ids = [...new Set(d.vulnerabilities.map((v: { id: string }) => v.id))].sort();
    assert.deepEqual(ids, ['DEBIAN-CVE-2099-0001', 'GHSA-test-semv-0001', 'PYSEC-2099-1']);
    // The Debian advisory names the source package: every installed binary package built from it is affected.
    const fromSource = hostBinariesOf(libc.source);
    assert.deepEqual(d.vulnerabilities.filter((v: { id: string }) => v.id === 'DEBIAN-CVE-2099-0001').map((v: { package: string }) => v.package).sort(), fromSource);
    const glibc = d.vulnerabilities.find((v: { id: string; package: string }) => v.id === 'DEBIAN-CVE-2099-0001' && v.package === 'libc6');
    assert.deepEqual([glibc.package, glibc.installedVersion, glibc.fixedVersion, glibc.severity, glibc.cvss.score], ['libc6', libc.version, `${libc.version}+fix1`, 'critical', 9.8]);
    const npm = d.vulnerabilities.find((v: { id: string }) => v.id === 'GHSA-test-semv-0001');
    assert.deepEqual([npm.installedVersion, npm.fixedVersion, npm.severity, npm.cvss], [semver.version, '7.99.0', 'medium', null]);
    const py = d.vulnerabilities.find((v: { id: string }) => v.id === 'PYSEC-2099-1');
    assert.deepEqual([py.package, py.installedVersion, py.fixedVersion, py.severity, py.cvss.score], [wheel.name, wheel.version, null, 'medium', 6.9]);
    assert.deepEqual(d.summary, { unknown: 0, low: 0, medium: 2, high: 0, critical: fromSource.length });
    assert.equal(typeof d.database.version, 'string');

    // Filters: at or above a severity, fixed or not, one package.
    assert.deepEqual([...new Set((await report('secure/debian', debian, '?severity=high')).vulnerabilities.map((v: { id: string }) => v.id))], ['DEBIAN-CVE-2099-0001']);
    assert.deepEqual((await report('secure/debian', debian, '?fixed=false')).vulnerabilities.map((v: { id: string }) => v.id), ['PYSEC-2099-1']);
    assert.deepEqual((await report('secure/debian', debian, '?package=semver')).vulnerabilities.map((v: { id: string }) => v.id), ['GHSA-test-semv-0001']);
    assert.equal((await api('GET', `/repositories/${encodeURIComponent('secure/debian')}/manifests/${debian}/vulnerabilities?severity=worst`)).status, 400);

    const a = await settled('secure/alpine', alpine);
    assert.deepEqual(
      a.vulnerabilities.map((v: { id: string; package: string; fixedVersion: string; severity: string }) => [v.id, v.package, v.fixedVersion, v.severity]),
      [['ALPINE-CVE-2099-0011', 'libcrypto3', '3.1.4-r6', 'medium']],
    );
  });

  it('publishes SPDX 2.3 and CycloneDX 1.6 SBOMs that follow the official schemas, as OCI 1.1 referrers of the image', async () => {
    const path = `/repositories/${encodeURIComponent('secure/debian')}/manifests/${debian}/sbom`;
    const spdx = await fetch(`${t.url}/api/v1${path}?format=spdx`);
    assert.equal(spdx.status, 200);
    assert.equal(spdx.headers.get('content-type'), 'application/spdx+json');
    const spdxBytes = Buffer.from(await spdx.arrayBuffer());
    const spdxDoc = JSON.parse(spdxBytes.toString('utf8'));
    assert.equal(await spdxErrors(spdxDoc), null);
    const cdx = await fetch(`${t.url}/api/v1${path}?format=cyclonedx`);
    const cdxBytes = Buffer.from(await cdx.arrayBuffer());
    const cdxDoc = JSON.parse(cdxBytes.toString('utf8'));
    assert.equal(await cycloneDxErrors(cdxDoc), null);
    assert.equal(cdxDoc.specVersion, '1.6');

    // Both list every package of the inventory with its package URL.
    const libcPurl = spdxDoc.packages.find((p: { name: string }) => p.name === 'libc6').externalRefs[0].referenceLocator;
    assert.equal(decodeURIComponent(libcPurl), `pkg:deb/debian/libc6@${libc.version}?distro=debian-12&upstream=${libc.source}`);
    assert.ok(cdxDoc.components.some((c: { name: string; purl: string }) => c.name === 'semver' && c.purl === `pkg:npm/semver@${semver.version}`));
    assert.equal(spdxDoc.packages.length - 1, cdxDoc.components.length);
    assert.equal((await api('GET', `${path}?format=xml`)).status, 400);

    // Attached as referrers, byte for byte what the API serves.
    const refs = (await (await fetch(`${t.url}/v2/secure/debian/referrers/${debian}`)).json()) as { manifests: { digest: string; artifactType: string }[] };
    const types = refs.manifests.map((m) => m.artifactType).sort();
    assert.deepEqual(types, ['application/spdx+json', 'application/vnd.cyclonedx+json']);
    for (const m of refs.manifests) {
      const am = (await (await fetch(`${t.url}/v2/secure/debian/manifests/${m.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { subject: { digest: string }; layers: { digest: string }[] };
      assert.equal(am.subject.digest, debian);
      const blob = Buffer.from(await (await fetch(`${t.url}/v2/secure/debian/blobs/${am.layers[0]!.digest}`)).arrayBuffer());
      assert.ok(blob.equals(m.artifactType === 'application/spdx+json' ? spdxBytes : cdxBytes));
    }
    // The SBOM artifacts themselves are not scanned.
    assert.equal((await report('secure/debian', refs.manifests[0]!.digest)).status, 'unsupported');
  });

  it('a layer that is not an archive fails the scan, not the push', async () => {
    const b = await settled('secure/broken', broken);
    assert.equal(b.status, 'failed');
    assert.match(b.reason, /layers/);
    assert.equal((await pull('secure/broken', 'v1')).status, 200);
  });

  it('search by CVE alias or package finds every affected image the caller may see', async () => {
    await settled('open/debian', other);
    const byCve = await api('GET', '/vulnerabilities/search?id=CVE-2099-0001');
    assert.deepEqual(byCve.body.results.map((r: { repository: string; digest: string; tags: string[] }) => [r.repository, r.digest, r.tags]).sort(), [['open/debian', other, ['v1']], ['secure/debian', debian, ['v1']]].sort());
    assert.deepEqual(byCve.body.results.find((r: { repository: string }) => r.repository === 'open/debian').packages, ['libc6']);
    const byPackage = await api('GET', '/vulnerabilities/search?package=libcrypto3');
    assert.deepEqual(byPackage.body.results.map((r: { repository: string }) => r.repository), ['secure/alpine']);
    assert.equal((await api('GET', '/vulnerabilities/search')).status, 400);
  });

  it('a database change rescans stored inventories without reading any layer', async () => {
    const blobs = t.berth.blobs;
    const read = blobs.read.bind(blobs);
    let reads = 0;
    blobs.read = (...args: Parameters<typeof read>) => {
      reads++;
      return read(...args);
    };
    try {
      // The second import arrives as a .zip built by the zip tool.
      const dir = join(work, 'db2');
      await mkdir(dir);
      await writeFile(join(dir, `${LATER.id}.json`), JSON.stringify(LATER));
      execFileSync('zip', ['-q', '-r', join(work, 'db2.zip'), '.'], { cwd: dir });
      const imported = await api('POST', '/vulnerability-db', (await import('node:fs')).readFileSync(join(work, 'db2.zip')), 'application/zip');
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      const d = await settled('secure/debian', debian, imported.body.version);
      assert.ok(d.vulnerabilities.some((v: { id: string; severity: string }) => v.id === LATER.id && v.severity === 'medium'), JSON.stringify(d.vulnerabilities.map((v: { id: string }) => v.id)));
      const o = await settled('open/debian', other, imported.body.version);
      assert.ok(o.vulnerabilities.some((v: { id: string }) => v.id === LATER.id));
      assert.equal(reads, 0, 'the rescan read no blob');
    } finally {
      blobs.read = read;
    }
    const info = await api('GET', '/vulnerability-db');
    assert.equal(info.body.advisories, advisories().length + 1);
    assert.equal(info.body.version, (await report('secure/debian', debian)).database.version);
  });

  it('the CLI scans, lists vulnerabilities, prints SBOMs and imports a folder', async () => {
    const env = { BERTH_CLI_CONFIG: join(work, 'cli.json') };
    // The CLI always signs in: a user and a personal access token (access control is off here).
    assert.equal((await api('POST', '/users', { name: 'cli', password: 'cli-password-1', admin: true })).status, 201);
    const token = await api('POST', '/users/cli/tokens', { name: 'cli' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    await writeFile(env.BERTH_CLI_CONFIG, JSON.stringify({ url: t.url, user: 'cli', token: token.body.token }));
    const berth = (...args: string[]) => run(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], { env });
    const scanned = await berth('scan', 'secure/alpine:v1');
    assert.match(scanned.stdout, /^secure\/alpine:v1: done; critical 0, high 0, medium 1, low 0, unknown 0; database osv-/);
    const table = (await berth('vulns', 'secure/alpine:v1')).stdout;
    assert.match(table, /SEVERITY\s+ID\s+PACKAGE\s+INSTALLED VERSION\s+FIXED VERSION/);
    assert.match(table, /medium\s+ALPINE-CVE-2099-0011\s+libcrypto3\s+3\.1\.4-r5\s+3\.1\.4-r6/);
    const json = JSON.parse((await berth('vulns', `secure/debian@${debian}`, '--severity', 'critical', '--json')).stdout);
    assert.ok(json.vulnerabilities.length > 0 && json.vulnerabilities.every((v: { severity: string }) => v.severity === 'critical'));
    const sbom = JSON.parse((await berth('sbom', 'secure/alpine:v1', '--format', 'cyclonedx')).stdout);
    assert.deepEqual(sbom.components.map((c: { name: string }) => c.name).sort(), ['busybox', 'libcrypto3']);

    const dir = join(work, 'db3');
    await mkdir(join(dir, 'alpine'), { recursive: true });
    const extra = { id: 'ALPINE-CVE-2099-0012', modified: '2026-03-01T00:00:00Z', affected: [{ package: { ecosystem: 'Alpine:v3.19', name: 'busybox' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.36.1-r6' }] }] }] };
    await validateOsv([extra]);
    await writeFile(join(dir, 'alpine', `${extra.id}.json`), JSON.stringify(extra));
    const imported = await berth('vulndb', 'import', dir);
    assert.match(imported.stdout, /^IMPORTED\s+VERSION\n1\s+osv-/);
    const version = imported.stdout.trim().split(/\s+/).pop()!;
    const a = await settled('secure/alpine', alpine, version);
    assert.ok(a.vulnerabilities.some((v: { id: string }) => v.id === extra.id));
    // Bad input: one line on stderr, a non-zero exit.
    await writeFile(join(work, 'not-an-archive.txt'), 'hello');
    await assert.rejects(berth('vulndb', 'import', join(work, 'not-an-archive.txt')), /berth: .*not a folder, \.zip, \.tar\.gz or \.tar/);
    await assert.rejects(berth('vulns', 'secure/alpine:nope'), /berth: secure\/alpine has no tag nope/);
  });

  it('picks the database up from an OCI artifact pushed into the registry itself', async () => {
    const before = (await api('GET', '/vulnerability-db')).body;
    const mirrored = { id: 'ALPINE-CVE-2099-0013', modified: '2026-04-01T00:00:00Z', affected: [{ package: { ecosystem: 'Alpine:v3.19', name: 'busybox' }, versions: ['1.36.1-r5'] }] };
    await validateOsv([mirrored]);
    await pushImage(t.url, 'security/osv', 'latest', { layers: [await tarGz([mirrored])] });
    let info = before;
    for (let i = 0; i < 200 && info.version === before.version; i++) {
      await new Promise((res) => setTimeout(res, 50));
      info = (await api('GET', '/vulnerability-db')).body;
    }
    assert.notEqual(info.version, before.version);
    assert.equal(info.advisories, before.advisories + 1);
    const a = await settled('secure/alpine', alpine, info.version);
    assert.ok(a.vulnerabilities.some((v: { id: string; fixedVersion: string | null }) => v.id === mirrored.id && v.fixedVersion === null));
  });

  it('a bad database import is refused and changes nothing', async () => {
    const before = (await api('GET', '/vulnerability-db')).body;
    const bad = await api('POST', '/vulnerability-db', await tarGz([{ id: 'OK-1', modified: '2026-01-01T00:00:00Z' }, { summary: 'no id' }]), 'application/gzip');
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /id/);
    assert.equal((await api('POST', '/vulnerability-db', Buffer.from('garbage'), 'application/zip')).status, 400);
    assert.deepEqual((await api('GET', '/vulnerability-db')).body, before);
  });

  it('the project policy refuses pulls with DENIED; an allowlist lets them through until it expires; other projects are unaffected', async () => {
    assert.equal((await pull('secure/debian', 'v1')).status, 200);
    const set = await api('PUT', '/projects/secure/security', { blockSeverity: 'high' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const denied = await pull('secure/debian', 'v1');
    assert.equal(denied.status, 403);
    const err = (await denied.json()) as { errors: { code: string; message: string; detail: unknown }[] };
    assert.equal(err.errors[0]!.code, 'DENIED');
    assert.match(JSON.stringify(err.errors[0]), /1 vulnerability at or above high.*DEBIAN-CVE-2099-0001 \(critical\)/);
    assert.equal((await fetch(`${t.url}/v2/secure/debian/manifests/${debian}`, { method: 'HEAD' })).status, 403);
    assert.equal((await pull('secure/alpine', 'v1')).status, 200, 'medium findings pass a high threshold');
    assert.equal((await pull('open/debian', 'v1')).status, 200, 'another project is unaffected');

    // skopeo shows the reason to its user.
    await assert.rejects(run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${t.host}/secure/debian:v1`]), /DENIED|denied/);
    await assert.rejects(run('skopeo', ['copy', '--src-tls-verify=false', `docker://${t.host}/secure/debian:v1`, `oci:${join(work, 'out')}:v1`]), /DEBIAN-CVE-2099-0001/);
    // podman (headless, private vfs storage) too.
    const podman = ['--root', join(work, 'podman'), '--runroot', join(work, 'podman-run'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs'];
    await assert.rejects(run('podman', [...podman, 'pull', '--tls-verify=false', `${t.host}/secure/debian:v1`]), /DEBIAN-CVE-2099-0001/);

    // The allowlist names the alias (the CVE), unexpired: allowed. Expired: refused again.
    await api('PUT', '/projects/secure/security', { blockSeverity: 'high', allowlist: [{ id: 'CVE-2099-0001', expires: '2999-01-01' }] });
    assert.equal((await pull('secure/debian', 'v1')).status, 200);
    await api('PUT', '/projects/secure/security', { blockSeverity: 'high', allowlist: [{ id: 'CVE-2099-0001', expires: '2020-01-01' }] });
    assert.equal((await pull('secure/debian', 'v1')).status, 403);

    // Invalid policies are refused and change nothing.
    assert.equal((await api('PUT', '/projects/secure/security', { blockSeverity: 'severe' })).status, 400);
    assert.equal((await pull('secure/debian', 'v1')).status, 403);
    const policy = await api('GET', '/projects/secure/security');
    assert.equal(policy.body.policy.blockSeverity, 'high');

    // The system default applies to projects without a policy of their own.
    await api('DELETE', '/projects/secure/security');
    assert.equal((await pull('secure/debian', 'v1')).status, 200);
    await api('PUT', '/security/default', { blockSeverity: 'critical' });
    assert.equal((await pull('open/debian', 'v1')).status, 403);
    assert.equal((await pull('secure/debian', 'v1')).status, 403);
    await api('PUT', '/security/default', { blockSeverity: 'none' });
    assert.equal((await pull('open/debian', 'v1')).status, 200);
  });
});
