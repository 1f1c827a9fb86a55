/**
 * Packages inside files too big to keep: Java archives (jar, war, ear: `pom.properties` and
 * `META-INF/MANIFEST.MF`, read with yauzl once the archive has streamed by; only the packages
 * found are kept), Rust binaries' cargo-auditable section (rust.ts) and Go's embedded build info (the `\xff Go buildinf:` header
 * the linker writes since Go 1.18: the toolchain version and the module list, as `go version
 * -m` prints it). The probe streams over executables and keeps only the bytes after the magic,
 * so a large binary never sits in memory.
 */
import yauzl from 'yauzl';
import type { Probe } from './layers.js';
import { isElf, MAX_ELF, rustContentsOf } from './rust.js';
import { zipEntries } from './zip.js';

/** Marks a kept buffer as the packages found in a Java archive (JSON after the marker). */
const JAR_MARK = Buffer.from('\0berth-jar\n');
/** Largest archive read (a bigger one is skipped: its bytes would sit in memory). */
const MAX_JAR = 64 * 1024 * 1024;

export interface JarPackage {
  group: string;
  artifact: string;
  version: string;
}

async function jarPackages(bytes: Buffer): Promise<JarPackage[]> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true });
  const out: JarPackage[] = [];
  let manifest: string | undefined;
  try {
    for await (const entry of zipEntries(zip)) {
      const name = entry.fileName;
      if (!/^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(name) && name !== 'META-INF/MANIFEST.MF') continue;
      if (entry.uncompressedSize > 1024 * 1024) continue;
      const chunks: Buffer[] = [];
      for await (const c of await zip.openReadStreamPromise(entry)) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (name === 'META-INF/MANIFEST.MF') manifest = text;
      else {
        const prop = (k: string) => new RegExp(`^${k}\\s*[=:]\\s*(.+?)\\s*$`, 'm').exec(text)?.[1];
        const [group, artifact, version] = [prop('groupId'), prop('artifactId'), prop('version')];
        if (group && artifact && version) out.push({ group, artifact, version });
      }
    }
  } finally {
    zip.close();
  }
  if (out.length === 0 && manifest) {
    // No Maven metadata: the manifest's bundle or implementation names, when it has both parts.
    const field = (k: string) => new RegExp(`^${k}:\\s*(.+?)\\s*$`, 'm').exec(manifest!)?.[1];
    const group = field('Implementation-Vendor-Id') ?? field('Bundle-SymbolicName')?.split(';')[0]?.split('.').slice(0, -1).join('.');
    const artifact = field('Implementation-Title') ?? field('Bundle-SymbolicName')?.split(';')[0]?.split('.').pop();
    const version = field('Implementation-Version') ?? field('Bundle-Version');
    if (group && artifact && version) out.push({ group, artifact, version });
  }
  return out;
}

/** A probe that keeps a Java archive while it streams by and reads its Maven coordinates. */
export function jarProbe(size: number): Probe | undefined {
  if (size > MAX_JAR) return undefined;
  const chunks: Buffer[] = [];
  return {
    push(chunk) {
      chunks.push(chunk);
    },
    async end() {
      try {
        const found = await jarPackages(Buffer.concat(chunks));
        return found.length ? Buffer.concat([JAR_MARK, Buffer.from(JSON.stringify(found))]) : undefined;
      } catch {
        return undefined; // not a readable archive: nothing from it
      }
    },
  };
}

export function jarContents(b: Buffer): JarPackage[] | null {
  return b.subarray(0, JAR_MARK.length).equals(JAR_MARK) ? (JSON.parse(b.subarray(JAR_MARK.length).toString('utf8')) as JarPackage[]) : null;
}

/** The probe for a file: Java archives by name; Go and Rust (cargo-auditable) binaries among executables. */
export function probeFor(path: string, size: number, mode: number): Probe | undefined {
  if (/\.(jar|war|ear)$/.test(path)) return jarProbe(size);
  if (mode & 0o111 && size > 1024) return executableProbe(size);
  return undefined;
}

/**
 * Go's build info (found in the stream) or, for an ELF file no larger than MAX_ELF that is
 * not a Go binary, cargo-auditable's section (read once the whole file has streamed by).
 */
function executableProbe(size: number): Probe {
  const go = goBuildInfoProbe();
  let kept: Buffer[] | undefined = size <= MAX_ELF ? [] : undefined;
  let first = true;
  return {
    push(chunk) {
      go.push(chunk);
      if (first) {
        first = false;
        if (!isElf(chunk)) kept = undefined;
      }
      // A Go binary is not a cargo-auditable one: stop keeping its bytes.
      if (go.found()) kept = undefined;
      kept?.push(chunk);
    },
    end() {
      return go.end() ?? (kept ? rustContentsOf(Buffer.concat(kept)) : undefined);
    },
  };
}

const GO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
/** Bytes kept after the magic: the header and the two strings (module lists are small). */
const KEEP = 256 * 1024;

/** A probe that finds Go build info in a streamed executable. */
export function goBuildInfoProbe(): { push(chunk: Buffer): void; end(): Buffer | undefined; found(): boolean } {
  let tail = Buffer.alloc(0);
  let kept: Buffer[] | undefined;
  let keptBytes = 0;
  return {
    push(chunk) {
      if (kept) {
        if (keptBytes < KEEP) {
          kept.push(chunk.subarray(0, KEEP - keptBytes));
          keptBytes += Math.min(chunk.length, KEEP - keptBytes);
        }
        return;
      }
      const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      const at = buf.indexOf(GO_MAGIC);
      if (at >= 0) {
        kept = [buf.subarray(at, at + KEEP)];
        keptBytes = Math.min(buf.length - at, KEEP);
        return;
      }
      tail = Buffer.from(buf.subarray(Math.max(0, buf.length - GO_MAGIC.length + 1)));
    },
    end() {
      return kept ? Buffer.concat(kept) : undefined;
    },
    found: () => kept !== undefined,
  };
}

export function isGoBuildInfo(b: Buffer): boolean {
  return b.subarray(0, GO_MAGIC.length).equals(GO_MAGIC);
}

function uvarint(b: Buffer, at: number): [number, number] {
  let x = 0;
  let shift = 0;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const c = b[i]!;
    x += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return [x, i + 1];
    shift += 7;
  }
  throw new Error('bad varint');
}

/** The Go toolchain and modules of a binary's build info (kept by the probe); null when it is not readable. */
export function parseGoBuildInfo(b: Buffer): { go: string; modules: { path: string; version: string }[] } | null {
  if (!isGoBuildInfo(b) || b.length < 32) return null;
  const flags = b[15]!;
  // Go 1.18+ writes the strings inline after the 32-byte header; older binaries hold pointers.
  if (!(flags & 2)) return null;
  const [vlen, vstart] = uvarint(b, 32);
  const go = b.toString('utf8', vstart, vstart + vlen);
  const [mlen, mstart] = uvarint(b, vstart + vlen);
  let mod = b.toString('latin1', mstart, mstart + mlen);
  // The module info is framed by 16-byte sentinels.
  if (mod.length >= 33 && mod[mod.length - 17] === '\n') mod = mod.slice(16, -16);
  mod = Buffer.from(mod, 'latin1').toString('utf8');
  const modules: { path: string; version: string }[] = [];
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    if ((f[0] === 'mod' || f[0] === 'dep') && f[1] && f[2] && f[2] !== '(devel)') modules.push({ path: f[1], version: f[2] });
    // A replacement by another module is what was built; one by a local folder keeps the name required.
    if (f[0] === '=>' && modules.length && f[1] && f[2] && f[2] !== '(devel)' && !/^[./]/.test(f[1])) modules[modules.length - 1] = { path: f[1], version: f[2] };
  }
  return { go, modules };
}
