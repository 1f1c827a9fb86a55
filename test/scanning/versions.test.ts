/**
 * Version orders against each project's documented examples: every table is an ascending
 * chain (each version sorts strictly before the next) plus pairs that must be equal, and
 * the comparator must be antisymmetric over every pair of the chain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareApk, compareDpkg, compareMaven, comparePep440, compareRpm, compareSemver, type Compare } from '../../src/scanning/versions.js';

function ascending(cmp: Compare, chain: string[]): void {
  for (let i = 0; i < chain.length; i++) {
    for (let j = 0; j < chain.length; j++) {
      const want = Math.sign(i - j);
      assert.equal(Math.sign(cmp(chain[i]!, chain[j]!)), want, `${chain[i]} vs ${chain[j]}: expected ${want}`);
    }
  }
}

function equal(cmp: Compare, pairs: [string, string][]): void {
  for (const [a, b] of pairs) assert.equal(cmp(a, b), 0, `${a} = ${b}`);
}

describe('version orders', () => {
  it('dpkg: deb-version(7) and Debian policy 5.6.12 (~ before the empty part, letters before symbols, epochs first)', () => {
    // Policy's own example: "~~, ~~a, ~, the empty part, a".
    ascending(compareDpkg, ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0+', '1.0.1', '1.0.1-1', '1.0.1-1+deb12u1', '1.0.1-2', '1.10', '2.0~rc1', '2.0', '1:0.1', '2:0.0.1']);
    equal(compareDpkg, [['0:1.0', '1.0'], ['1.0-0', '1.0-0'], ['1.01', '1.1']]);
    ascending(compareDpkg, ['2.36-9', '2.36-9+deb12u3', '2.36-9+deb12u10']);
  });

  it('apk: apk-tools version rules (suffix order, letters, -rN revisions)', () => {
    ascending(compareApk, ['1.0_alpha', '1.0_alpha2', '1.0_beta', '1.0_pre', '1.0_rc1', '1.0', '1.0-r1', '1.0-r10', '1.0_p1', '1.0a', '1.0.1', '1.2', '1.10', '2.0_git20240101', '2.0_p2']);
    ascending(compareApk, ['3.0.12-r0', '3.0.12-r1', '3.0.13-r0', '3.1.4-r5']);
    equal(compareApk, [['1.2.3-r0', '1.2.3'], ['1.2.3-r4', '1.2.3-r4']]);
  });

  it('rpm: rpmvercmp (rpm test suite cases: ~ pre-releases, ^ snapshots, numeric newer than alpha)', () => {
    ascending(compareRpm, ['1.0~rc1', '1.0~rc1^git1', '1.0', '1.0^', '1.0^git1', '1.0^git2', '1.0.1', '1.01', '1.2']);
    ascending(compareRpm, ['5.5p1', '5.5p2', '5.5p10', '5.6p1']);
    ascending(compareRpm, ['xyz.4', '8']);
    ascending(compareRpm, ['10a1', '10b2', '10.1xyz']);
    ascending(compareRpm, ['6.0', '6.0.rc1']);
    ascending(compareRpm, ['2.28-251.el9', '2.28-251.el9_2.1', '1:1.0-1']);
    equal(compareRpm, [['1.0', '1.0'], ['0:2.5-1', '2.5-1'], ['1.0-1', '1.0']]);
  });

  it('PEP 440: the ordering example of the specification', () => {
    ascending(comparePep440, [
      '1.0.dev456', '1.0a1', '1.0a2.dev456', '1.0a12.dev456', '1.0a12', '1.0b1.dev456', '1.0b2', '1.0b2.post345.dev456', '1.0b2.post345',
      '1.0rc1.dev456', '1.0rc1', '1.0', '1.0+abc.5', '1.0+abc.7', '1.0+5', '1.0.post456.dev34', '1.0.post456', '1.0.15', '1.1.dev1', '1!0.1',
    ]);
    equal(comparePep440, [['1.0', '1.0.0'], ['1.0-1', '1.0.post1'], ['1.0alpha1', '1.0a1'], ['1.0c1', '1.0rc1']]);
  });

  it('Maven: ComparableVersion qualifier order, trailing zeros and aliases', () => {
    ascending(compareMaven, ['1-alpha', '1-alpha-2', '1-beta', '1-milestone', '1-rc', '1-SNAPSHOT', '1', '1-sp', '1.0.1', '1.1', '2.0-beta-1', '2.0']);
    equal(compareMaven, [['1.0', '1'], ['1-ga', '1'], ['1.0-final', '1'], ['1-cr', '1-rc'], ['1.0-alpha', '1-alpha'], ['1.0.0', '1']]);
  });

  it('semver: npm, Go (v-prefixed) and crates.io versions, pre-releases first', () => {
    ascending(compareSemver, ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta', '1.0.0-rc.1', '1.0.0', 'v1.2.3', '1.10.0']);
    equal(compareSemver, [['v1.2.3', '1.2.3']]);
  });
});
