/**
 * The rpm database of current RHEL, Fedora and derivatives: a SQLite file (`rpmdb.sqlite`)
 * whose Packages table holds one rpm header blob per installed package. This reads image
 * content (a file found in a layer, opened read-only from memory), never Berth's own
 * metadata, which is why it may use the SQLite driver outside src/metadata (the layer test
 * names this one file as the exception).
 */
import Database from 'better-sqlite3';

// rpm header tags and types (rpmtag.h)
const RPMTAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, SOURCERPM: 1044 };
const RPM_INT32 = 4;
const RPM_STRING = 6;

/** Reads the tags we need from one rpm header blob (index count, data length, entries, data). */
export function parseRpmHeader(blob: Buffer): Record<number, string | number> {
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  const dataStart = 8 + il * 16;
  if (il > 100_000 || dataStart + dl > blob.length) throw new Error('not an rpm header');
  const out: Record<number, string | number> = {};
  const wanted = new Set(Object.values(RPMTAG));
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = blob.readUInt32BE(e);
    if (!wanted.has(tag)) continue;
    const type = blob.readUInt32BE(e + 4);
    const offset = blob.readInt32BE(e + 8);
    const at = dataStart + offset;
    if (type === RPM_INT32) out[tag] = blob.readInt32BE(at);
    else if (type === RPM_STRING || type === 8 || type === 9) out[tag] = blob.toString('utf8', at, blob.indexOf(0, at));
  }
  return out;
}

/** The packages of a sqlite rpmdb (rpm 4.16+: RHEL 9, Fedora 33+), gpg-pubkey entries left out. */
export function rpmPackages(bytes: Buffer): { name: string; version: string; source: string | undefined }[] {
  const db = new Database(bytes, { readonly: true });
  try {
    const out: { name: string; version: string; source: string | undefined }[] = [];
    for (const row of db.prepare('SELECT blob FROM Packages').iterate() as Iterable<{ blob: Buffer }>) {
      const h = parseRpmHeader(row.blob);
      const name = h[RPMTAG.NAME];
      if (typeof name !== 'string' || name === 'gpg-pubkey') continue;
      const epoch = h[RPMTAG.EPOCH];
      const version = `${epoch !== undefined && epoch !== 0 ? `${epoch}:` : ''}${h[RPMTAG.VERSION]}-${h[RPMTAG.RELEASE]}`;
      const srpm = typeof h[RPMTAG.SOURCERPM] === 'string' ? /^(.+)-[^-]+-[^-]+\.src\.rpm$/.exec(h[RPMTAG.SOURCERPM] as string)?.[1] : undefined;
      out.push({ name, version, source: srpm && srpm !== name ? srpm : undefined });
    }
    return out;
  } finally {
    db.close();
  }
}

