/**
 * Rust binaries built with cargo-auditable. The fixture is a real ELF executable: a tiny C
 * program compiled here by `cc` (cargo-auditable is not installed on this machine and the
 * network reaches no crate registry), given a `.dep-v0` section with `objcopy --add-section`
 * holding what cargo-auditable writes there: the dependency list as JSON following its
 * published schema (rustsec.org/schemas/cargo-auditable.json: name, version, source, kind,
 * dependencies by index, root), zlib-compressed. The reader must find the section through the
 * ELF section table, keep only crates.io packages, and survive a section that is not zlib.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { probeFor } from '../../src/scanning/binaries.js';
import { readInventory, wantFile } from '../../src/scanning/inventory.js';
import { walkLayers } from '../../src/scanning/layers.js';
import { matchInventory } from '../../src/scanning/match.js';
import { parseAdvisory } from '../../src/scanning/osv.js';
import { elfSection } from '../../src/scanning/rust.js';
import { purlOf } from '../../src/scanning/sbom.js';
import { missingTools } from '../helpers/tools.js';
import { gzipLayer } from './fixtures.js';

const DEPS = {
  packages: [
    { name: 'hello', version: '0.1.0', source: 'local', dependencies: [1, 2, 3], root: true },
    { name: 'serde', version: '1.0.100', source: 'crates.io' },
    { name: 'cc', version: '1.0.79', source: 'crates.io', kind: 'build' },
    { name: 'forked', version: '0.3.0', source: 'git' },
  ],
};

const scan = async (layer: Buffer) => readInventory((await walkLayers([{ open: async () => Readable.from([layer]) }], (p) => wantFile(p), undefined, probeFor)).files);

describe('cargo-auditable binaries', { skip: missingTools('cc', 'objcopy') }, () => {
  let dir: string;
  let plain: Buffer;
  let auditable: Buffer;
  let bogus: Buffer;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-rust-'));
    writeFileSync(join(dir, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    execFileSync('cc', ['-O1', '-o', join(dir, 'hello'), join(dir, 'hello.c')]);
    writeFileSync(join(dir, 'deps.z'), deflateSync(Buffer.from(JSON.stringify(DEPS))));
    execFileSync('objcopy', ['--add-section', `.dep-v0=${join(dir, 'deps.z')}`, '--set-section-flags', '.dep-v0=noload,readonly', join(dir, 'hello'), join(dir, 'hello-auditable')]);
    writeFileSync(join(dir, 'junk'), Buffer.from('not zlib at all'));
    execFileSync('objcopy', ['--add-section', `.dep-v0=${join(dir, 'junk')}`, join(dir, 'hello'), join(dir, 'hello-bogus')]);
    [plain, auditable, bogus] = ['hello', 'hello-auditable', 'hello-bogus'].map((f) => readFileSync(join(dir, f)));
    // The fixture really runs and really carries the section (as binutils sees it).
    assert.equal(execFileSync(join(dir, 'hello-auditable')).toString(), 'hello\n');
    assert.match(execFileSync('objdump', ['-h', join(dir, 'hello-auditable')]).toString(), /\.dep-v0/);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the section through the ELF section table', () => {
    assert.deepEqual(elfSection(auditable, '.dep-v0'), deflateSync(Buffer.from(JSON.stringify(DEPS))));
    assert.equal(elfSection(plain, '.dep-v0'), undefined);
    assert.ok(elfSection(plain, '.text')!.length > 0);
    assert.equal(elfSection(Buffer.from('#!/bin/sh\necho hi\n'), '.dep-v0'), undefined);
    assert.equal(elfSection(auditable.subarray(0, 200), '.dep-v0'), undefined, 'a truncated file has no readable table');
  });

  it('reports the crates.io packages of an executable in an image layer, and matches crates.io advisories', async () => {
    const inv = await scan(
      await gzipLayer([
        { name: 'usr/local/bin/hello', data: auditable, mode: 0o755 },
        { name: 'usr/local/bin/plain', data: plain, mode: 0o755 },
        { name: 'usr/local/bin/bogus', data: bogus, mode: 0o755 },
        { name: 'usr/share/doc/not-executable', data: auditable, mode: 0o644 },
      ]),
    );
    const crates = inv.packages.filter((p) => p.ecosystem === 'crates.io').map((p) => `${p.path} ${p.name} ${p.version}`).sort();
    assert.deepEqual(crates, ['usr/local/bin/hello cc 1.0.79', 'usr/local/bin/hello serde 1.0.100']);
    const serde = inv.packages.find((p) => p.name === 'serde')!;
    assert.equal(purlOf(serde, inv.os), 'pkg:cargo/serde@1.0.100');
    const advisory = parseAdvisory({ id: 'RUSTSEC-2099-0001', modified: '2026-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'crates.io', name: 'serde' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.101' }] }] }] });
    const fixedBefore = parseAdvisory({ id: 'RUSTSEC-2099-0002', modified: '2026-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'crates.io', name: 'serde' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.99' }] }] }] });
    const found = matchInventory(inv, [...advisory.affected.map((entry) => ({ advisory, entry })), ...fixedBefore.affected.map((entry) => ({ advisory: fixedBefore, entry }))]);
    assert.deepEqual(found.map((f) => [f.id, f.package, f.installedVersion, f.fixedVersion]), [['RUSTSEC-2099-0001', 'serde', '1.0.100', '1.0.101']]);
  });
});
