/**
 * The package readers: which files of an image they need (`wantFile`) and what they find in
 * them (`readInventory`): the operating system from os-release, and packages from dpkg's
 * status (and distroless `status.d/`), apk's installed database, the rpm sqlite database,
 * npm `package.json` files under `node_modules` and lock files, and Python `METADATA` /
 * `PKG-INFO`, Java archives' Maven coordinates, Go binaries' build info (binaries.ts) and Rust binaries' cargo-auditable dependency list (rust.ts). Each package carries its OSV ecosystem name, so matching needs nothing else.
 * Readers are pure: bytes in, packages out; a file they cannot read is skipped, not fatal.
 */
import { isGoBuildInfo, jarContents, parseGoBuildInfo } from './binaries.js';
import { rustContents } from './rust.js';
import { rpmPackages } from './rpmdb.js';

export interface OsInfo {
  id: string;
  versionId: string;
  prettyName: string;
}

export interface Package {
  name: string;
  version: string;
  /** The OSV ecosystem ("Debian:12", "Alpine:v3.19", "npm", "PyPI" ...). */
  ecosystem: string;
  /** deb, apk, rpm, npm, pypi (the purl type). */
  type: string;
  /** The source package, when it differs (dpkg `Source`, apk origin, rpm source rpm). */
  source?: string | undefined;
  /** Where it was found. */
  path: string;
}

export interface Inventory {
  os: OsInfo | null;
  packages: Package[];
}

const MB = 1024 * 1024;
const DB_FILES = ['var/lib/dpkg/status', 'lib/apk/db/installed', 'var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'];

/** How many bytes of `path` the readers need (0: not wanted). */
export function wantFile(path: string): number {
  if (path === 'etc/os-release' || path === 'usr/lib/os-release') return MB;
  if (DB_FILES.includes(path)) return 128 * MB;
  if (path.startsWith('var/lib/dpkg/status.d/') && !path.endsWith('.md5sums')) return 4 * MB;
  if (path.endsWith('/package.json') && /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path)) return MB;
  if (/(^|\/)package-lock\.json$/.test(path) && !path.includes('node_modules/')) return 32 * MB;
  if (/\.dist-info\/METADATA$/.test(path) || /\.egg-info(\/PKG-INFO)?$/.test(path)) return MB;
  return 0;
}

function parseOsRelease(text: string): OsInfo {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields[m[1]!] = m[2]!.replace(/^["']|["']$/g, '');
  }
  return { id: fields.ID ?? 'unknown', versionId: fields.VERSION_ID ?? '', prettyName: fields.PRETTY_NAME ?? fields.NAME ?? '' };
}

/** The OSV ecosystem of the operating system's packages. */
export function osEcosystem(os: OsInfo | null): string {
  if (!os) return 'Linux';
  const v = os.versionId;
  switch (os.id) {
    case 'debian':
      return v ? `Debian:${v.split('.')[0]}` : 'Debian';
    case 'ubuntu':
      return v ? `Ubuntu:${v}` : 'Ubuntu';
    case 'alpine':
      return v ? `Alpine:v${v.split('.').slice(0, 2).join('.')}` : 'Alpine';
    case 'rhel':
    case 'centos':
      return 'Red Hat';
    case 'rocky':
      return 'Rocky Linux';
    case 'almalinux':
      return 'AlmaLinux';
    case 'wolfi':
      return 'Wolfi';
    default:
      return os.id.charAt(0).toUpperCase() + os.id.slice(1);
  }
}

/** Paragraphs of a Debian control file (or apk's database) as field maps. */
function paragraphs(text: string, sep: RegExp): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last = '';
    for (const line of block.split('\n')) {
      if (/^[ \t]/.test(line)) continue; // continuation of a multi-line field
      const m = sep.exec(line);
      if (m) fields[(last = m[1]!)] = m[2]!.trim();
    }
    if (last) out.push(fields);
  }
  return out;
}

function dpkg(text: string, ecosystem: string, path: string): Package[] {
  const out: Package[] = [];
  for (const p of paragraphs(text, /^([A-Za-z0-9-]+):\s?(.*)$/)) {
    if (!p.Package || !p.Version) continue;
    if (p.Status && !/\binstalled$/.test(p.Status)) continue;
    const source = p.Source ? p.Source.split(/\s+/)[0] : undefined;
    out.push({ name: p.Package, version: p.Version, ecosystem, type: 'deb', source: source !== p.Package ? source : undefined, path });
  }
  return out;
}

function apk(text: string, ecosystem: string, path: string): Package[] {
  const out: Package[] = [];
  for (const p of paragraphs(text, /^([A-Za-z]):(.*)$/)) {
    if (!p.P || !p.V) continue;
    out.push({ name: p.P, version: p.V, ecosystem, type: 'apk', source: p.o && p.o !== p.P ? p.o : undefined, path });
  }
  return out;
}

function npmPackage(text: string, path: string): Package[] {
  const j = JSON.parse(text) as { name?: unknown; version?: unknown };
  return typeof j.name === 'string' && typeof j.version === 'string' ? [{ name: j.name, version: j.version, ecosystem: 'npm', type: 'npm', path }] : [];
}

function npmLock(text: string, path: string): Package[] {
  const j = JSON.parse(text) as { packages?: Record<string, { version?: unknown; name?: unknown; link?: unknown }> };
  const out: Package[] = [];
  for (const [key, p] of Object.entries(j.packages ?? {})) {
    const i = key.lastIndexOf('node_modules/');
    if (i < 0 || p.link || typeof p.version !== 'string') continue;
    const name = typeof p.name === 'string' ? p.name : key.slice(i + 'node_modules/'.length);
    out.push({ name, version: p.version, ecosystem: 'npm', type: 'npm', path });
  }
  return out;
}

function python(text: string, path: string): Package[] {
  const head = text.split(/\n\n/)[0]!;
  const name = /^Name:\s*(.+)$/m.exec(head)?.[1]?.trim();
  const version = /^Version:\s*(.+)$/m.exec(head)?.[1]?.trim();
  return name && version ? [{ name, version, ecosystem: 'PyPI', type: 'pypi', path }] : [];
}

/** The inventory of the merged file system `files` (path -> bytes, as walkLayers returns). */
export function readInventory(files: ReadonlyMap<string, Buffer>): Inventory {
  const osFile = files.get('etc/os-release') ?? files.get('usr/lib/os-release');
  const os = osFile ? parseOsRelease(osFile.toString('utf8')) : null;
  const osEco = osEcosystem(os);
  const packages: Package[] = [];
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    try {
      const jar = jarContents(bytes);
      if (jar) {
        for (const j of jar) packages.push({ name: `${j.group}:${j.artifact}`, version: j.version, ecosystem: 'Maven', type: 'maven', path });
      } else if (rustContents(bytes)) {
        for (const c of rustContents(bytes)!) packages.push({ name: c.name, version: c.version, ecosystem: 'crates.io', type: 'cargo', path });
      } else if (isGoBuildInfo(bytes)) {
        const info = parseGoBuildInfo(bytes);
        if (info) {
          if (/^go\d/.test(info.go)) packages.push({ name: 'stdlib', version: info.go.slice(2), ecosystem: 'Go', type: 'golang', path });
          for (const m of info.modules) packages.push({ name: m.path, version: m.version.replace(/^v/, ''), ecosystem: 'Go', type: 'golang', path });
        }
      } else if (path === 'var/lib/dpkg/status' || path.startsWith('var/lib/dpkg/status.d/')) packages.push(...dpkg(bytes.toString('utf8'), osEco, path));
      else if (path === 'lib/apk/db/installed') packages.push(...apk(bytes.toString('utf8'), osEco, path));
      else if (path.endsWith('rpmdb.sqlite')) packages.push(...rpmPackages(bytes).map((p) => ({ ...p, ecosystem: osEco, type: 'rpm', path })));
      else if (path.endsWith('/package.json')) packages.push(...npmPackage(bytes.toString('utf8'), path));
      else if (path.endsWith('package-lock.json')) packages.push(...npmLock(bytes.toString('utf8'), path));
      else if (/(METADATA|PKG-INFO|\.egg-info)$/.test(path)) packages.push(...python(bytes.toString('utf8'), path));
    } catch {
      // An unreadable database is no inventory from it, not a failed scan.
    }
  }
  // One entry per ecosystem, name and version (a lock file repeats node_modules).
  const seen = new Set<string>();
  return {
    os,
    packages: packages.filter((p) => {
      const k = `${p.ecosystem}\0${p.name}\0${p.version}`;
      return seen.has(k) ? false : (seen.add(k), true);
    }),
  };
}
