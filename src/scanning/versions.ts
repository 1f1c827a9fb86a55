/**
 * Version orders of the ecosystems advisories are written for. Each compare returns <0, 0, >0
 * like a sort comparator. They follow each project's documented algorithm: dpkg's
 * (deb-version(7): epoch, upstream, revision; `~` sorts before everything, letters before
 * other characters), apk's (apk-tools' version.c: digits, letters, suffixes, `-rN`), rpm's
 * (rpmvercmp with `~` and `^`), semver (the `semver` package, loose), PEP 440 (epoch, release,
 * pre, post, dev, local) and Maven's ComparableVersion (qualifier order alpha < beta <
 * milestone < rc < snapshot < release < sp). Unparseable input never throws: it compares
 * as text, so one odd advisory cannot stop a scan.
 */
import semver from 'semver';

export type VersionOrder = 'dpkg' | 'apk' | 'rpm' | 'semver' | 'pep440' | 'maven' | 'text';
export type Compare = (a: string, b: string) => number;

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && /[A-Za-z]/.test(c);
const cmpNum = (a: string, b: string): number => {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  return x.length !== y.length ? sign(x.length - y.length) : sign(x < y ? -1 : x > y ? 1 : 0);
};

// --- dpkg -------------------------------------------------------------------------------

function dpkgOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp over one part (upstream or revision). */
function dpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = dpkgOrder(a[i]);
      const bc = dpkgOrder(b[j]);
      if (ac !== bc) return sign(ac - bc);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first) return sign(first);
  }
  return 0;
}

function splitDpkg(v: string): [number, string, string] {
  let s = v.trim();
  let epoch = 0;
  const colon = s.indexOf(':');
  if (colon > 0 && /^\d+$/.test(s.slice(0, colon))) {
    epoch = Number(s.slice(0, colon));
    s = s.slice(colon + 1);
  }
  const dash = s.lastIndexOf('-');
  return dash > 0 ? [epoch, s.slice(0, dash), s.slice(dash + 1)] : [epoch, s, ''];
}

export function compareDpkg(a: string, b: string): number {
  const [ea, ua, ra] = splitDpkg(a);
  const [eb, ub, rb] = splitDpkg(b);
  return sign(ea - eb) || dpkgPart(ua, ub) || dpkgPart(ra, rb);
}

// --- rpm --------------------------------------------------------------------------------

/** rpmvercmp: alternating numeric and alphabetic segments; `~` before all, `^` after the end. */
function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !/[A-Za-z0-9~^]/.test(a[i]!)) i++;
    while (j < b.length && !/[A-Za-z0-9~^]/.test(b[j]!)) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const take = (s: string, k: number): string => {
      let e = k;
      while (e < s.length && (numeric ? isDigit(s[e]) : isAlpha(s[e]))) e++;
      return s.slice(k, e);
    };
    const x = take(a, i);
    const y = take(b, j);
    i += x.length;
    j += y.length;
    if (y.length === 0) return numeric ? 1 : -1;
    const c = numeric ? cmpNum(x, y) : sign(x < y ? -1 : x > y ? 1 : 0);
    if (c) return c;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

function splitRpm(v: string): [number, string, string] {
  const [epoch, version, release] = splitDpkg(v);
  return [epoch, version, release];
}

export function compareRpm(a: string, b: string): number {
  const [ea, va, ra] = splitRpm(a);
  const [eb, vb, rb] = splitRpm(b);
  return sign(ea - eb) || rpmvercmp(va, vb) || (ra && rb ? rpmvercmp(ra, rb) : 0);
}

// --- apk --------------------------------------------------------------------------------

const APK_SUFFIX: Record<string, number> = { alpha: -4, beta: -3, pre: -2, rc: -1, cvs: 1, svn: 2, git: 3, hg: 4, p: 5 };

interface ApkVersion {
  numbers: string[];
  letter: string;
  suffixes: [number, string][];
  revision: number;
}

function parseApk(v: string): ApkVersion {
  const m = /^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:~[0-9a-f]+)?(?:-r(\d+))?$/.exec(v.trim());
  if (!m) return { numbers: [], letter: v, suffixes: [], revision: 0 };
  const suffixes: [number, string][] = [];
  for (const s of m[3]!.split('_').slice(1)) {
    const sm = /^([a-z]+)(\d*)$/.exec(s)!;
    suffixes.push([APK_SUFFIX[sm[1]!]!, sm[2] || '0']);
  }
  return { numbers: m[1]!.split('.'), letter: m[2]!, suffixes, revision: Number(m[4] ?? 0) };
}

export function compareApk(a: string, b: string): number {
  const x = parseApk(a);
  const y = parseApk(b);
  if (!x.numbers.length || !y.numbers.length) return sign(a < b ? -1 : a > b ? 1 : 0);
  for (let k = 0; k < Math.max(x.numbers.length, y.numbers.length); k++) {
    const p = x.numbers[k];
    const q = y.numbers[k];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    // apk compares a part after the first with a leading zero as a fraction (text order).
    const c = k > 0 && (p.startsWith('0') || q.startsWith('0')) ? sign(p < q ? -1 : p > q ? 1 : 0) : cmpNum(p, q);
    if (c) return c;
  }
  if (x.letter !== y.letter) return x.letter < y.letter ? -1 : 1;
  for (let k = 0; k < Math.max(x.suffixes.length, y.suffixes.length); k++) {
    const p = x.suffixes[k];
    const q = y.suffixes[k];
    if (!p) return q![0] < 0 ? 1 : -1;
    if (!q) return p[0] < 0 ? -1 : 1;
    const c = sign(p[0] - q[0]) || cmpNum(p[1], q[1]);
    if (c) return c;
  }
  return sign(x.revision - y.revision);
}

// --- semver -----------------------------------------------------------------------------

export function compareSemver(a: string, b: string): number {
  const x = semver.valid(a.replace(/^v/, ''), { loose: true }) ?? semver.coerce(a, { includePrerelease: true })?.version;
  const y = semver.valid(b.replace(/^v/, ''), { loose: true }) ?? semver.coerce(b, { includePrerelease: true })?.version;
  if (!x || !y) return sign(a < b ? -1 : a > b ? 1 : 0);
  return semver.compare(x, y, { loose: true });
}

// --- PEP 440 ----------------------------------------------------------------------------

interface Pep440 {
  epoch: number;
  release: number[];
  pre: [number, number] | null;
  post: number | null;
  dev: number | null;
  local: (number | string)[];
}

function parsePep440(v: string): Pep440 | null {
  const m =
    /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i.exec(v);
  if (!m) return null;
  const preKind = m[3]?.toLowerCase();
  const pre = preKind ? ([preKind.startsWith('a') ? 0 : preKind === 'b' || preKind === 'beta' ? 1 : 2, Number(m[4] || 0)] as [number, number]) : null;
  const post = m[5] !== undefined ? Number(m[5]) : m[6] !== undefined ? Number(m[7] || 0) : null;
  const dev = m[8] !== undefined ? Number(m[9] || 0) : null;
  const local = m[10] ? m[10].toLowerCase().split(/[-_.]/).map((s) => (/^\d+$/.test(s) ? Number(s) : s)) : [];
  const release = m[2]!.split('.').map(Number);
  while (release.length > 1 && release[release.length - 1] === 0) release.pop();
  return { epoch: Number(m[1] ?? 0), release, pre, post, dev, local };
}

export function comparePep440(a: string, b: string): number {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (!x || !y) return sign(a < b ? -1 : a > b ? 1 : 0);
  if (x.epoch !== y.epoch) return sign(x.epoch - y.epoch);
  for (let k = 0; k < Math.max(x.release.length, y.release.length); k++) {
    const c = (x.release[k] ?? 0) - (y.release[k] ?? 0);
    if (c) return sign(c);
  }
  // The pre-release key: a dev release of the final (no pre, no post) sorts before any pre.
  const preKey = (p: Pep440): [number, number, number] => (p.pre ? [0, ...p.pre] : p.post === null && p.dev !== null ? [-1, 0, 0] : [1, 0, 0]);
  const [pa, pb] = [preKey(x), preKey(y)];
  for (let k = 0; k < 3; k++) if (pa[k] !== pb[k]) return sign(pa[k]! - pb[k]!);
  const postKey = (p: Pep440): number => (p.post === null ? -1 : p.post);
  if (postKey(x) !== postKey(y)) return sign(postKey(x) - postKey(y));
  const devKey = (p: Pep440): number => (p.dev === null ? Infinity : p.dev);
  if (devKey(x) !== devKey(y)) return devKey(x) < devKey(y) ? -1 : 1;
  for (let k = 0; k < Math.max(x.local.length, y.local.length); k++) {
    const p = x.local[k];
    const q = y.local[k];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (typeof p !== typeof q) return typeof p === 'number' ? 1 : -1;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

// --- Maven ------------------------------------------------------------------------------

const MAVEN_QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const MAVEN_ALIASES: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone', cr: 'rc', ga: '', final: '', release: '' };

function mavenItems(v: string): (number | string)[] {
  const items: (number | string)[] = [];
  // Each dash-separated part loses its trailing zeros and "ga"/"final" ("1.0-alpha" is "1-alpha").
  for (const segment of v.toLowerCase().split('-')) {
    const part: (number | string)[] = [];
    for (const dotted of segment.split('.')) {
      for (const piece of dotted.match(/\d+|[a-z]+/g) ?? ['']) part.push(/^\d+$/.test(piece) ? Number(piece) : (MAVEN_ALIASES[piece] ?? piece));
    }
    while (part.length > (items.length ? 0 : 1) && (part[part.length - 1] === 0 || part[part.length - 1] === '')) part.pop();
    items.push(...part);
  }
  return items;
}

function mavenQualifier(s: string): [number, string] {
  const i = MAVEN_QUALIFIERS.indexOf(s);
  return i >= 0 ? [i, ''] : [MAVEN_QUALIFIERS.length, s];
}

function mavenItem(p: number | string | undefined, q: number | string | undefined): number {
  if (p === undefined && q === undefined) return 0;
  if (p === undefined) return -mavenItem(q, undefined);
  if (q === undefined) return typeof p === 'number' ? sign(p) : sign(mavenQualifier(p)[0] - mavenQualifier('')[0]);
  if (typeof p === 'number' && typeof q === 'number') return sign(p - q);
  if (typeof p === 'number') return 1; // a number sorts after a qualifier
  if (typeof q === 'number') return -1;
  const [a, x] = mavenQualifier(p);
  const [b, y] = mavenQualifier(q);
  return sign(a - b) || (x < y ? -1 : x > y ? 1 : 0);
}

export function compareMaven(a: string, b: string): number {
  const x = mavenItems(a);
  const y = mavenItems(b);
  for (let k = 0; k < Math.max(x.length, y.length); k++) {
    const c = mavenItem(x[k], y[k]);
    if (c) return c;
  }
  return 0;
}

export const compareText: Compare = (a, b) => sign(a < b ? -1 : a > b ? 1 : 0);

export const COMPARE: Record<VersionOrder, Compare> = {
  dpkg: compareDpkg,
  apk: compareApk,
  rpm: compareRpm,
  semver: compareSemver,
  pep440: comparePep440,
  maven: compareMaven,
  text: compareText,
};

/** The version order of an OSV ecosystem name ("Debian:12", "Alpine:v3.19", "PyPI" ...). */
export function orderOf(ecosystem: string): VersionOrder {
  const base = ecosystem.split(':')[0]!;
  switch (base) {
    case 'Debian':
    case 'Ubuntu':
      return 'dpkg';
    case 'Alpine':
    case 'Wolfi':
    case 'Chainguard':
      return 'apk';
    case 'Red Hat':
    case 'Rocky Linux':
    case 'AlmaLinux':
    case 'Fedora':
    case 'openSUSE':
    case 'SUSE':
    case 'Mageia':
    case 'Photon OS':
      return 'rpm';
    case 'PyPI':
      return 'pep440';
    case 'Maven':
      return 'maven';
    case 'npm':
    case 'Go':
    case 'crates.io':
    case 'NuGet':
    case 'Packagist':
    case 'RubyGems':
    case 'Hex':
    case 'Pub':
      return 'semver';
    default:
      return 'text';
  }
}
