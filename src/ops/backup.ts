/**
 * Backup and restore of the embedded default (SQLite + filesystem blobs under one data folder).
 *
 * Why the copy is consistent while pushes go on: a blob's bytes are durable before the metadata
 * transaction that records the blob commits (the write order every upload keeps), so every blob
 * row in a database snapshot has its bytes in storage already. `backup` therefore takes the
 * snapshot first (SQLite's online backup: the database as of one commit) and then copies, or
 * hard-links, exactly the blob files that snapshot lists. Blobs pushed after the snapshot are
 * not in it and their files are not copied. The one thing that removes bytes of recorded blobs
 * is garbage collection, so the caller holds the `gc` lease for the whole backup (a GC run
 * waits). Bytes removed for another reason (scrub quarantine, verifyReads) are listed as
 * `missing`; the restored registry answers BLOB_UNKNOWN for them until they are pushed again.
 *
 * Hard links are the default: committed blob files are never changed in place (a repair
 * replaces the file by rename), so a link keeps the backup's bytes whatever the live store does
 * later. `copy` makes independent copies (another disk, or a file system without links); a
 * link across file systems falls back to a copy by itself.
 *
 * Restore goes into an empty data folder only: it never merges with or overwrites a registry.
 */
import { copyFile, link, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Digest } from '../domain/names.js';
import { backupSqlite } from '../metadata/sqlite.js';
import { fsBlobPath } from '../storage/fs/fs-blob-store.js';

export const BACKUP_FORMAT = 'berth-backup-1';
const MANIFEST = 'backup.json';

export interface BackupPaths {
  /** The live SQLite database file. */
  database: string;
  /** The live blob store root (holding `blobs/`). */
  storageRoot: string;
  /** The data folder (its `signing-keys.key`, when present, is part of the backup). */
  dataDir: string;
}

export interface BackupReport {
  format: string;
  to: string;
  createdAt: string;
  blobs: number;
  bytes: number;
  linked: number;
  copied: number;
  /** Blob rows of the snapshot whose bytes were not in storage. */
  missing: Digest[];
}

export interface RestoreReport {
  from: string;
  dataDir: string;
  blobs: number;
  linked: number;
  copied: number;
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Hard-links `from` to `to` (or copies when asked, or when links are impossible); 'link' or 'copy'. */
async function place(from: string, to: string, copy: boolean): Promise<'link' | 'copy'> {
  await mkdir(dirname(to), { recursive: true });
  if (!copy) {
    try {
      await link(from, to);
      return 'link';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOTSUP') throw e;
    }
  }
  await copyFile(from, to);
  return 'copy';
}

async function copyIfPresent(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Writes a backup of the registry at `paths` into `to` (absent or empty). `holdGc` runs its
 * function while garbage collection is kept from deleting bytes (the caller's `gc` lease).
 */
export async function backup(
  paths: BackupPaths,
  to: string,
  opts: { copy: boolean; holdGc: <T>(fn: () => Promise<T>) => Promise<T>; now?: () => number; onBlob?: (done: number) => void },
): Promise<BackupReport> {
  if (!(await isEmptyOrAbsent(to))) throw new Error(`${to} is not empty: a backup goes into a new or empty folder`);
  await mkdir(to, { recursive: true });
  const report: BackupReport = { format: BACKUP_FORMAT, to, createdAt: new Date((opts.now ?? Date.now)()).toISOString(), blobs: 0, bytes: 0, linked: 0, copied: 0, missing: [] };
  await opts.holdGc(() =>
    backupSqlite(paths.database, join(to, 'berth.db'), async ({ digest, size }) => {
      try {
        const how = await place(fsBlobPath(paths.storageRoot, digest), fsBlobPath(join(to, 'storage'), digest), opts.copy);
        report[how === 'link' ? 'linked' : 'copied']++;
        report.blobs++;
        report.bytes += size;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        report.missing.push(digest);
      }
      opts.onBlob?.(report.blobs + report.missing.length);
    }),
  );
  // The key that unseals the token-signing keys stored in the database.
  await copyIfPresent(join(paths.dataDir, 'signing-keys.key'), join(to, 'signing-keys.key'));
  await writeFile(join(to, MANIFEST), JSON.stringify(report, null, 2) + '\n');
  return report;
}

async function* files(dir: string): AsyncIterable<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

/** Restores the backup in `from` into the empty data folder of `paths`. */
export async function restore(from: string, paths: BackupPaths, opts: { copy: boolean }): Promise<RestoreReport> {
  let manifest: { format?: string };
  try {
    manifest = JSON.parse(await readFile(join(from, MANIFEST), 'utf8')) as { format?: string };
  } catch {
    throw new Error(`${from} holds no Berth backup (no readable ${MANIFEST})`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new Error(`${from} is a backup of format ${String(manifest.format)}; this version restores ${BACKUP_FORMAT}`);
  for (const dir of [paths.dataDir, paths.storageRoot]) {
    if (!(await isEmptyOrAbsent(dir))) throw new Error(`${dir} is not empty: restore goes into an empty data folder, never over a registry`);
  }
  if (await stat(paths.database).catch(() => undefined)) throw new Error(`${paths.database} exists: restore goes into an empty data folder, never over a registry`);
  const report: RestoreReport = { from, dataDir: paths.dataDir, blobs: 0, linked: 0, copied: 0 };
  const blobsDir = join(from, 'storage', 'blobs');
  for await (const file of files(blobsDir)) {
    const how = await place(file, join(paths.storageRoot, 'blobs', file.slice(blobsDir.length + 1)), opts.copy);
    report[how === 'link' ? 'linked' : 'copied']++;
    report.blobs++;
  }
  await mkdir(paths.dataDir, { recursive: true });
  await copyIfPresent(join(from, 'signing-keys.key'), join(paths.dataDir, 'signing-keys.key'));
  // The database last: a data folder with a database is a registry.
  await mkdir(dirname(paths.database), { recursive: true });
  await copyFile(join(from, 'berth.db'), paths.database);
  return report;
}
