/**
 * The layer walker and package readers over layers built here from real package databases:
 * this machine's dpkg status and Python METADATA, this checkout's npm package.json files, an
 * apk `installed` file and a sqlite rpmdb in their real formats. Gzip and zstd layers,
 * whiteouts and opaque directories, and a layer that is not an archive.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { probeFor } from '../../src/scanning/binaries.js';
import { readInventory, wantFile } from '../../src/scanning/inventory.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walkLayers } from '../../src/scanning/layers.js';
import { missingTools } from '../helpers/tools.js';
import { apkInstalled, gzipLayer, hostDpkg, hostWheels, npmPackage, rpmdb, tarOf, zstdLayer } from './fixtures.js';

const source = (b: Buffer) => ({ open: async () => Readable.from([b.subarray(0, 7), b.subarray(7)]) });
const scan = async (layers: Buffer[]) => readInventory((await walkLayers(layers.map(source), (p) => wantFile(p), undefined, probeFor)).files);

describe('inventory', { skip: missingTools('zstd') }, () => {
  it('reads dpkg, Python and npm packages across gzip and zstd layers, applying whiteouts in order', async () => {
    const wheels = hostWheels();
    assert.ok(wheels.length >= 3, 'this machine has Python dist-info folders');
    const [kept, removed, replacedDir] = wheels;
    const semver = npmPackage('semver');
    const zod = npmPackage('zod');
    const base = await gzipLayer([
      { name: 'etc/os-release', data: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' },
      { name: 'var/lib/dpkg/status', data: readFileSync('/var/lib/dpkg/status') },
      ...wheels.slice(0, 3).map((w) => ({ name: `usr/lib/python3/dist-packages/${w.dir}/METADATA`, data: w.metadata })),
      { name: 'app/node_modules/semver/package.json', data: semver.json },
      { name: 'app/node_modules/zod/package.json', data: zod.json },
    ]);
    const top = await zstdLayer([
      // Deletes one wheel, hides the other app's node_modules content below an opaque dir.
      { name: `usr/lib/python3/dist-packages/.wh.${removed!.dir}` },
      { name: 'app/node_modules/zod/.wh..wh..opq' },
      { name: 'app/node_modules/zod/README.md', data: 'replaced' },
      { name: `usr/lib/python3/dist-packages/${replacedDir!.dir}/METADATA`, data: `Metadata-Version: 2.1\nName: ${replacedDir!.name}\nVersion: 999.1\n` },
      { name: 'var/lib/dpkg/status.d/distroless-extra', data: 'Package: berth-extra\nVersion: 1.2-3\nArchitecture: amd64\n' },
    ]);
    const inv = await scan([base, top]);
    assert.deepEqual(inv.os, { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
    const find = (name: string) => inv.packages.filter((p) => p.name === name);

    const libc = hostDpkg('libc6');
    assert.deepEqual(find('libc6').map((p) => [p.version, p.ecosystem, p.source]), [[libc.version, 'Debian:12', libc.source]]);
    const installed = readFileSync('/var/lib/dpkg/status', 'utf8').split(/\n\n/).filter((p) => /\nStatus: install ok installed\n/.test(p)).length;
    assert.equal(inv.packages.filter((p) => p.type === 'deb' && p.path === 'var/lib/dpkg/status').length, installed);
    assert.deepEqual(find('berth-extra').map((p) => p.version), ['1.2-3']);

    assert.deepEqual(find(kept!.name).map((p) => [p.version, p.ecosystem]), [[kept!.version, 'PyPI']]);
    assert.deepEqual(find(removed!.name), [], 'a whiteout hides the deleted wheel');
    assert.deepEqual(find(replacedDir!.name).map((p) => p.version), ['999.1'], 'a later layer replaces the file');

    assert.deepEqual(find('semver').map((p) => [p.version, p.ecosystem]), [[semver.version, 'npm']]);
    assert.deepEqual(find('zod'), [], 'an opaque whiteout hides the directory below');
  });

  it('reads apk and rpm databases in their real formats', async () => {
    const alpine = await gzipLayer([
      { name: 'etc/os-release', data: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n' },
      { name: 'lib/apk/db/installed', data: apkInstalled([{ name: 'musl', version: '1.2.4_git20230717-r4' }, { name: 'libcrypto3', version: '3.1.4-r5', origin: 'openssl' }]) },
    ]);
    const inv = await scan([alpine]);
    assert.deepEqual(
      inv.packages.map((p) => [p.name, p.version, p.ecosystem, p.source]),
      [
        ['musl', '1.2.4_git20230717-r4', 'Alpine:v3.19', undefined],
        ['libcrypto3', '3.1.4-r5', 'Alpine:v3.19', 'openssl'],
      ],
    );

    const rhel = await gzipLayer([
      { name: 'etc/os-release', data: 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.3"\n' },
      { name: 'var/lib/rpm/rpmdb.sqlite', data: rpmdb([{ name: 'openssl-libs', version: '3.0.7', release: '24.el9', epoch: 1, sourcerpm: 'openssl-3.0.7-24.el9.src.rpm' }, { name: 'bash', version: '5.1.8', release: '6.el9_1', sourcerpm: 'bash-5.1.8-6.el9_1.src.rpm' }]) },
    ]);
    const rpm = await scan([rhel]);
    assert.deepEqual(
      rpm.packages.map((p) => [p.name, p.version, p.ecosystem, p.source]),
      [
        ['openssl-libs', '1:3.0.7-24.el9', 'Red Hat', 'openssl'],
        ['bash', '5.1.8-6.el9_1', 'Red Hat', undefined],
      ],
    );
  });

  it('rejects a layer that is not an archive, and a truncated gzip layer', async () => {
    await assert.rejects(scan([Buffer.from('this is not a tar archive at all, just text'.repeat(20))]));
    const good = await gzipLayer([{ name: 'etc/os-release', data: 'ID=debian\n' }, { name: 'big', data: Buffer.alloc(100_000, 7) }]);
    await assert.rejects(scan([good.subarray(0, good.length - 200)]));
    // A plain (uncompressed) tar reads too.
    assert.equal((await scan([await tarOf([{ name: 'etc/os-release', data: 'ID=alpine\nVERSION_ID=3.20.0\n' }])])).os?.id, 'alpine');
  });

  it('reads the build info of a Go binary built here (toolchain and modules)', { skip: missingTools('go') }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-go-'));
    try {
      mkdirSync(join(dir, 'lib'));
      writeFileSync(join(dir, 'lib', 'go.mod'), 'module example.com/lib\n\ngo 1.19\n');
      writeFileSync(join(dir, 'lib', 'lib.go'), 'package lib\n\nfunc Hello() string { return "hello" }\n');
      writeFileSync(join(dir, 'go.mod'), 'module example.com/app\n\ngo 1.19\n\nrequire example.com/lib v1.2.3\n\nreplace example.com/lib v1.2.3 => ./lib\n');
      writeFileSync(join(dir, 'main.go'), 'package main\n\nimport "example.com/lib"\n\nfunc main() { println(lib.Hello()) }\n');
      const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
      execFileSync('go', ['build', '-o', 'app', '.'], { cwd: dir, env, stdio: 'pipe' });
      const goVersion = execFileSync('go', ['env', 'GOVERSION'], { env }).toString().trim();
      const binary = readFileSync(join(dir, 'app'));
      // Large enough that the build info sits far past the first chunk the walker sees.
      assert.ok(binary.length > 500_000);
      const inv = await scan([await gzipLayer([{ name: 'usr/local/bin/app', data: binary, mode: 0o755 }, { name: 'usr/share/app.dat', data: binary, mode: 0o644 }])]);
      assert.deepEqual(
        inv.packages.map((p) => [p.name, p.version, p.ecosystem, p.path]),
        [
          ['stdlib', goVersion.replace(/^go/, ''), 'Go', 'usr/local/bin/app'],
          ['example.com/lib', '1.2.3', 'Go', 'usr/local/bin/app'],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads Maven coordinates of Java archives built by the zip tool (pom.properties, else MANIFEST.MF)', { skip: missingTools('zip') }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-jar-'));
    try {
      mkdirSync(join(dir, 'a', 'META-INF', 'maven', 'org.apache.logging.log4j', 'log4j-core'), { recursive: true });
      writeFileSync(join(dir, 'a', 'META-INF', 'MANIFEST.MF'), 'Manifest-Version: 1.0\nImplementation-Title: ignored\n');
      writeFileSync(join(dir, 'a', 'META-INF', 'maven', 'org.apache.logging.log4j', 'log4j-core', 'pom.properties'), '#Generated by Maven\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n');
      mkdirSync(join(dir, 'b', 'META-INF'), { recursive: true });
      writeFileSync(join(dir, 'b', 'META-INF', 'MANIFEST.MF'), 'Manifest-Version: 1.0\nImplementation-Vendor-Id: com.example\nImplementation-Title: widget\nImplementation-Version: 3.2.1\n');
      execFileSync('zip', ['-q', '-r', join(dir, 'a.jar'), 'META-INF'], { cwd: join(dir, 'a') });
      execFileSync('zip', ['-q', '-r', join(dir, 'b.war'), 'META-INF'], { cwd: join(dir, 'b') });
      const inv = await scan([await gzipLayer([{ name: 'opt/app/lib/log4j-core.jar', data: readFileSync(join(dir, 'a.jar')) }, { name: 'opt/app/widget.war', data: readFileSync(join(dir, 'b.war')) }, { name: 'opt/app/broken.jar', data: 'not a zip' }])]);
      assert.deepEqual(
        inv.packages.map((p) => [p.name, p.version, p.ecosystem]),
        [
          ['org.apache.logging.log4j:log4j-core', '2.14.1', 'Maven'],
          ['com.example:widget', '3.2.1', 'Maven'],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
