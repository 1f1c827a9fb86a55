/**
 * Scrub: re-hash every stored blob and every stored manifest, report what is corrupt or
 * missing, and quarantine a corrupt blob so it is never served.
 *
 * Blobs are visited in digest order, streamed (never held whole) through their digest's hash,
 * optionally throttled to `rateBytesPerSecond`. A blob whose bytes are missing is reported
 * (pulls already answer BLOB_UNKNOWN for it: BlobService checks the stored size first). A blob
 * whose bytes do not hash to its digest is quarantined: its bytes are copied to
 * `<quarantineDir>/<algorithm>/<hex>` for inspection and then deleted from the blob store, so a
 * pull gets BLOB_UNKNOWN instead of wrong bytes and a re-push of the same content repairs it
 * (the upload's commit writes the bytes again; the blob row never went away). The copy pass
 * hashes again: bytes that a concurrent re-push repaired in between are left alone.
 *
 * Manifests are stored in the metadata database; their bytes are re-hashed against their digest
 * (a damaged row is reported; it cannot be quarantined without breaking the repository, so
 * the operator re-pushes the image). Their references need no check of their own: foreign keys
 * keep every reference pointing at an existing row, and the blob pass checks those rows' bytes.
 *
 * Resumable: the position is saved in the shared settings table every few seconds
 * (`scrub:cursor:<scope>`); a later run of the same scope continues from it unless asked to
 * restart, and a run that completes clears it. A resumed run reports what it checked itself.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestAlgorithm, type Digest, type RepoName } from '../domain/names.js';
import { NotFoundError } from '../errors/store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';

export type ScrubProblemKind = 'corrupt' | 'missing' | 'manifest-corrupt';

export interface ScrubProblem {
  kind: ScrubProblemKind;
  digest: Digest;
  /** For a manifest: its repository. */
  repository?: RepoName;
  detail: string;
  /** Where a corrupt blob's bytes were moved. */
  quarantinedTo?: string;
  /** Manifests that reference the blob (the images a re-push must repair), at most 20. */
  referencedBy?: { repository: RepoName; manifest: Digest }[];
}

export interface ScrubReport {
  repository: RepoName | null;
  /** Where a resumed run started (the last digest an earlier run finished), or null. */
  resumedAfter: string | null;
  blobs: { checked: number; bytes: number };
  manifests: { checked: number };
  problems: ScrubProblem[];
  /** False when the run was aborted before the end (its position is saved). */
  complete: boolean;
  startedAt: string;
  finishedAt: string;
}

export interface ScrubProgress {
  phase: 'blobs' | 'manifests';
  blobs: number;
  bytes: number;
  totalBlobs: number;
  totalBytes: number;
  manifests: number;
}

export interface ScrubRunOptions {
  repository?: RepoName | undefined;
  /** Hash at most this many bytes per second (undefined: as fast as storage and CPU go). */
  rateBytesPerSecond?: number | undefined;
  /** Ignore a saved position and start from the beginning. */
  restart?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ScrubProgress) => void;
}

export interface ScrubOptions {
  /** Folder receiving quarantined bytes. */
  quarantineDir: string;
  now?: () => number;
  /** Told bytes verified and problems found (metrics). */
  observe?: { verified(bytes: number): void; problem(kind: ScrubProblemKind): void };
}

const PAGE = 200;
const SAVE_EVERY_MS = 2000;

interface Cursor {
  phase: 'blobs' | 'manifests';
  blob?: Digest;
  manifest?: { repository: string; digest: Digest };
}

export class ScrubService {
  private readonly now: () => number;

  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly opts: ScrubOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async run(o: ScrubRunOptions = {}): Promise<ScrubReport> {
    const started = this.now();
    const key = `scrub:cursor:${o.repository ?? '*'}`;
    const saved = o.restart ? undefined : await this.meta.settings.get(key);
    let cursor: Cursor = saved ? (JSON.parse(saved) as Cursor) : { phase: 'blobs' };
    const report: ScrubReport = {
      repository: o.repository ?? null,
      resumedAfter: saved ? (cursor.phase === 'blobs' ? (cursor.blob ?? null) : `manifests after ${cursor.manifest?.repository ?? ''}@${cursor.manifest?.digest ?? ''}`) : null,
      blobs: { checked: 0, bytes: 0 },
      manifests: { checked: 0 },
      problems: [],
      complete: false,
      startedAt: new Date(started).toISOString(),
      finishedAt: '',
    };
    const totals = await this.meta.scrub.blobTotals(o.repository);
    const progress = (phase: 'blobs' | 'manifests') =>
      o.onProgress?.({ phase, blobs: report.blobs.checked, bytes: report.blobs.bytes, totalBlobs: totals.blobs, totalBytes: totals.bytes, manifests: report.manifests.checked });
    let savedAt = this.now();
    const save = async (force = false) => {
      if (!force && this.now() - savedAt < SAVE_EVERY_MS) return;
      savedAt = this.now();
      await this.meta.settings.put(key, JSON.stringify(cursor));
    };
    const throttle = this.throttle(o.rateBytesPerSecond);
    const problem = async (p: ScrubProblem) => {
      if (p.kind !== 'manifest-corrupt') p.referencedBy = await this.meta.scrub.referencedBy(p.digest, 20);
      report.problems.push(p);
      this.opts.observe?.problem(p.kind);
    };
    try {
      if (cursor.phase === 'blobs') {
        for (;;) {
          const page = await this.meta.scrub.blobs({ after: cursor.blob, limit: PAGE, repository: o.repository });
          for (const b of page) {
            o.signal?.throwIfAborted();
            const found = await this.verifyBlob(b.digest, b.size, throttle, o.signal);
            report.blobs.checked++;
            report.blobs.bytes += found.bytes;
            this.opts.observe?.verified(found.bytes);
            if (found.problem) await problem(found.problem);
            cursor = { phase: 'blobs', blob: b.digest };
            progress('blobs');
            await save();
          }
          if (page.length < PAGE) break;
        }
        cursor = { phase: 'manifests' };
      }
      for (;;) {
        const page = await this.meta.scrub.manifests({ after: cursor.manifest, limit: PAGE, repository: o.repository });
        for (const m of page) {
          o.signal?.throwIfAborted();
          const actual = `${digestAlgorithm(m.digest)}:${createHash(digestAlgorithm(m.digest)).update(m.content).digest('hex')}`;
          report.manifests.checked++;
          if (actual !== m.digest) await problem({ kind: 'manifest-corrupt', digest: m.digest, repository: m.repository, detail: `the stored manifest bytes hash to ${actual}; push the image again` });
          cursor = { phase: 'manifests', manifest: { repository: m.repository, digest: m.digest } };
          progress('manifests');
          await save();
        }
        if (page.length < PAGE) break;
      }
      report.complete = true;
      await this.meta.settings.delete(key);
    } catch (e) {
      if (!o.signal?.aborted) throw e;
      await save(true);
    }
    report.finishedAt = new Date(this.now()).toISOString();
    return report;
  }

  /** Hashes the stored bytes; on damage quarantines them. */
  private async verifyBlob(digest: Digest, size: number, throttle: (n: number) => Promise<void>, signal?: AbortSignal): Promise<{ bytes: number; problem?: ScrubProblem }> {
    let result: { bytes: number; actual: string };
    try {
      result = await this.hash(digest, throttle, undefined, signal);
    } catch (e) {
      if (e instanceof NotFoundError) return { bytes: 0, problem: { kind: 'missing', digest, detail: 'the blob bytes are missing from storage; pulls answer BLOB_UNKNOWN until it is pushed again' } };
      throw e;
    }
    if (result.actual === digest && result.bytes === size) return { bytes: result.bytes };
    const detail = `stored bytes (${result.bytes} of ${size}) hash to ${result.actual}`;
    return { bytes: result.bytes, problem: await this.quarantine(digest, size, detail, signal) };
  }

  /**
   * Copies the damaged bytes out (hashing them again) and deletes them from the blob store,
   * unless the second pass finds them intact (repaired by a concurrent push in between).
   */
  private async quarantine(digest: Digest, size: number, detail: string, signal?: AbortSignal): Promise<ScrubProblem> {
    const [algorithm, hex] = digest.split(':') as [string, string];
    const dir = join(this.opts.quarantineDir, algorithm);
    await mkdir(dir, { recursive: true });
    const target = join(dir, hex);
    const partial = `${target}.${process.pid}.partial`;
    try {
      const again = await this.hash(digest, async () => {}, partial, signal);
      if (again.actual === digest && again.bytes === size) {
        await rm(partial, { force: true });
        return { kind: 'corrupt', digest, detail: `${detail}; a concurrent push repaired it, nothing was quarantined` };
      }
      await rename(partial, target);
    } catch (e) {
      await rm(partial, { force: true });
      if (e instanceof NotFoundError) return { kind: 'corrupt', digest, detail: `${detail}; the bytes were removed meanwhile` };
      throw e;
    }
    await this.blobs.delete(digest);
    return { kind: 'corrupt', digest, detail: `${detail}; quarantined: pulls answer BLOB_UNKNOWN until it is pushed again`, quarantinedTo: target };
  }

  /** Streams the blob through its digest's hash (and into `copyTo` when given). */
  private async hash(digest: Digest, throttle: (n: number) => Promise<void>, copyTo: string | undefined, signal?: AbortSignal): Promise<{ bytes: number; actual: string }> {
    const algorithm = digestAlgorithm(digest);
    const h = createHash(algorithm);
    let bytes = 0;
    const source = await this.blobs.read(digest, undefined, signal);
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        bytes += chunk.length;
        throttle(chunk.length).then(() => cb(null, copyTo ? chunk : undefined), cb);
      },
    });
    if (copyTo) await pipeline(source, tap, createWriteStream(copyTo), signal ? { signal } : {});
    else {
      tap.resume();
      await pipeline(source, tap, signal ? { signal } : {});
    }
    return { bytes, actual: `${algorithm}:${h.digest('hex')}` };
  }

  /** A pause after each chunk so that bytes/elapsed stays at or under the rate. */
  private throttle(rate: number | undefined): (n: number) => Promise<void> {
    if (!rate || rate <= 0) return async () => {};
    const start = this.now();
    let total = 0;
    return async (n) => {
      total += n;
      const ahead = (total / rate) * 1000 - (this.now() - start);
      if (ahead > 5) await new Promise((r) => setTimeout(r, ahead));
    };
  }
}
