/**
 * Rust binaries built with cargo-auditable: the dependency tree is embedded as zlib-compressed
 * JSON (`{"packages":[{"name","version","source","kind"?,"dependencies"?,"root"?}]}`, the
 * schema rustsec.org/schemas/cargo-auditable.json) in an ELF section named `.dep-v0`. Reading
 * it needs the section header table, which sits at the end of the file, so the probe keeps an
 * ELF executable's bytes while it streams by, up to MAX_ELF (a larger binary is skipped), and
 * drops them as soon as the file turns out to be a Go binary (its own probe reads those).
 * Packages from crates.io are reported in the OSV ecosystem `crates.io`; path, git and other
 * sources have no advisories there and are left out.
 */
import { inflateSync } from 'node:zlib';

/** Marks a kept buffer as the crates found in a Rust binary (JSON after the marker). */
const RUST_MARK = Buffer.from('\0berth-cargo\n');
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** Largest binary kept for its section table. */
export const MAX_ELF = 64 * 1024 * 1024;
/** Largest dependency list inflated (a real one is tens of KiB). */
const MAX_JSON = 16 * 1024 * 1024;

export interface Crate {
  name: string;
  version: string;
}

export const isElf = (b: Buffer): boolean => b.length >= 4 && b.subarray(0, 4).equals(ELF_MAGIC);

/** The bytes of the ELF section `name` of `b`; undefined when there is none or `b` is not a readable ELF file. */
export function elfSection(b: Buffer, name: string): Buffer | undefined {
  if (!isElf(b) || b.length < 52) return undefined;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const addr = (o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(o));
  if (is64 && b.length < 64) return undefined;
  const shoff = addr(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shoff === 0 || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > b.length || shstrndx >= shnum) return undefined;
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: u32(at), offset: addr(at + (is64 ? 0x18 : 0x10)), size: addr(at + (is64 ? 0x20 : 0x14)), type: u32(at + 4) };
  };
  const strtab = header(shstrndx);
  if (strtab.offset + strtab.size > b.length) return undefined;
  const wanted = Buffer.from(`${name}\0`);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    if (h.name + wanted.length > strtab.size) continue;
    if (!b.subarray(strtab.offset + h.name, strtab.offset + h.name + wanted.length).equals(wanted)) continue;
    // SHT_NOBITS has no bytes in the file.
    if (h.type === 8 || h.offset + h.size > b.length) return undefined;
    return b.subarray(h.offset, h.offset + h.size);
  }
  return undefined;
}

/** The crates.io packages of cargo-auditable's compressed dependency list; throws when it is not one. */
export function auditableCrates(compressed: Buffer): Crate[] {
  const json = JSON.parse(inflateSync(compressed, { maxOutputLength: MAX_JSON }).toString('utf8')) as { packages?: unknown };
  if (!Array.isArray(json.packages)) throw new Error('no "packages" list');
  const out: Crate[] = [];
  for (const p of json.packages as Record<string, unknown>[]) {
    if (p && typeof p.name === 'string' && typeof p.version === 'string' && p.source === 'crates.io') out.push({ name: p.name, version: p.version });
  }
  return out;
}

/** The crates a binary embeds, kept as a marked buffer for the inventory; undefined when it embeds none. */
export function rustContentsOf(binary: Buffer): Buffer | undefined {
  const section = elfSection(binary, '.dep-v0');
  if (!section) return undefined;
  try {
    const crates = auditableCrates(section);
    return crates.length ? Buffer.concat([RUST_MARK, Buffer.from(JSON.stringify(crates))]) : undefined;
  } catch {
    return undefined; // a section of that name that is not cargo-auditable's
  }
}

export function rustContents(b: Buffer): Crate[] | null {
  return b.subarray(0, RUST_MARK.length).equals(RUST_MARK) ? (JSON.parse(b.subarray(RUST_MARK.length).toString('utf8')) as Crate[]) : null;
}
