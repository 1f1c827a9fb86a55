/**
 * Blob uploads: start (optionally monolithic or by cross-repository mount), chunked and
 * streamed PATCH, status, finish with digest verification, cancel.
 *
 * Bytes stream from the request through the hash into the blob store in one pass. The digest
 * state of an upload lives in this process's memory while this process keeps receiving its
 * chunks; when a chunk arrives elsewhere (another node, or after a restart) the state is
 * dropped and the finish re-hashes the stored bytes once. Metadata only advances after the
 * bytes are durable, and a blob row is written only after its digest was verified.
 *
 * One request at a time writes an upload, across processes and nodes: a write lease in the
 * upload's metadata row, renewed while the bytes stream and given up at the end. Without it
 * a client racing two PATCHes through two nodes could overwrite bytes after the other node
 * advanced the offset, and that node's in-memory digest would then vouch for bytes it never
 * saw. A node that dies holding the lease blocks the upload for at most LEASE_MS, and a lease
 * whose release fails (the database briefly unreachable) is released again in the background
 * instead of blocking the session for the rest of its lease.
 *
 * Faults: a failed write (full storage, a stalled or vanished client) leaves the session at its
 * last durable offset, and the next request continues from there. A commit whose metadata
 * transaction fails removes the bytes it placed (through garbage collection's byte-deletion
 * fence, so bytes another push recorded meanwhile stay), so a failed push holds no space.
 * Cancelling removes the bytes before the row: on a full disk, the row's delete may need the
 * space the bytes free.
 *
 * Resources: open sessions are capped per repository and per owner (the principal that
 * started them) when they are created, and every write may add only the room the project's
 * byte quota has left (its content and all its open uploads counted, see policy/quota.ts);
 * a write that brings more is cut off with the quota's refusal and leaves the session where
 * it was.
 */
import { randomUUID } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { OciError } from '../errors/oci.js';
import { NotFoundError } from '../errors/store.js';
import type { MetadataStore, UploadRecord } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';
import { hashStream, newHash, tapHash } from './digester.js';
import { openBlobWriter, type BlobWriter } from './blob-writer.js';
import { checkRange, digestMismatch, rangeError, sizeMismatch, tooManyUploads, unknownUpload, type ChunkRange } from './upload-errors.js';
import { digestAlgorithm, projectOf, type Digest, type RepoName } from '../domain/names.js';
import { allowAllWrites, type UploadRoom, type WritePolicy } from '../policy/write-policy.js';
import { streaming } from '../ops/young-generation.js';

export interface UploadStatus {
  id: string;
  /** Bytes received so far. */
  offset: number;
}


interface HashState {
  offset: number;
  hash: Hash;
}

/** Write lease length, and how often a writer renews it while bytes are still streaming. */
const LEASE_MS = 10_000;
const RENEW_MS = 3_000;

/** What an upload id may look like; anything else is unknown without a lookup. */
const VALID_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Pause between attempts to give up a lease whose release failed. */
const UNLOCK_RETRY_MS = 250;

/** At most this many digest states are kept; the oldest is dropped (and re-hashed at finish). */
const MAX_HASH_STATES = 1024;

/** A body longer than this (or of unknown length) streams as a cold pull does (writeBody). */
const STREAMED_BYTES = 1024 * 1024;

export interface UploadLimits {
  /** Open sessions one repository may have. */
  maxOpenPerRepository: number;
  /** Open sessions one owner (principal) may have, across repositories. */
  maxOpenPerOwner: number;
  /** Sessions untouched for this long are abandoned and no longer count. */
  maxAgeMs: number;
}

const NO_LIMITS: UploadLimits = { maxOpenPerRepository: Number.POSITIVE_INFINITY, maxOpenPerOwner: Number.POSITIVE_INFINITY, maxAgeMs: 24 * 3600_000 };

export class UploadService {
  private readonly hashes = new Map<string, HashState>();
  /** Uploads with a write in progress in this process; a second concurrent write is refused. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly now: () => number = Date.now,
    private readonly policy: WritePolicy = allowAllWrites,
    private readonly limits: UploadLimits = NO_LIMITS,
    /** Told the size of every body written to the blob store (the pushed-bytes metric). */
    private readonly onStored: (bytes: number) => void = () => {},
  ) {}

  /**
   * Opens a session for `owner` (a principal's name, or `anonymous@<address>`). Refused with
   * TOOMANYREQUESTS when the repository or the owner has its cap of open sessions; sessions
   * created at the same moment may pass the count together, so a cap can be exceeded by the
   * number of such concurrent requests, never more.
   */
  async start(repo: RepoName, owner?: string): Promise<UploadStatus> {
    const { maxOpenPerRepository, maxOpenPerOwner } = this.limits;
    if (Number.isFinite(maxOpenPerRepository) || Number.isFinite(maxOpenPerOwner)) {
      const open = await this.meta.uploads.countOpen(repo, owner, this.now() - this.limits.maxAgeMs);
      if (open.inRepository >= maxOpenPerRepository) {
        throw tooManyUploads(`repository ${repo} has ${maxOpenPerRepository} open upload sessions, its limit (registry.maxOpenUploadsPerRepository); finish or cancel some first`);
      }
      if (owner !== undefined && open.ofOwner >= maxOpenPerOwner) {
        throw tooManyUploads(`${owner} has ${maxOpenPerOwner} open upload sessions, the limit per principal (registry.maxOpenUploadsPerPrincipal); finish or cancel some first`);
      }
    }
    const id = randomUUID();
    const handle = await this.blobs.createUpload(id);
    await this.meta.uploads.create({ id, repository: repo, handle, project: projectOf(repo), ...(owner !== undefined ? { owner } : {}) }, this.now());
    return { id, offset: 0 };
  }

  /** A whole blob in one request (`POST ?digest=`). */
  async putMonolithic(repo: RepoName, digest: Digest, body: AsyncIterable<Buffer>, expectedLength?: number): Promise<void> {
    const room = await this.room(repo, expectedLength, digest);
    const id = randomUUID();
    const handle = await this.blobs.createUpload(id);
    try {
      const hash = newHash(digestAlgorithm(digest));
      const { handle: h, written } = await this.writeBody(id, handle, 0, body, room, hash, expectedLength);
      this.onStored(written);
      if (expectedLength !== undefined && written !== expectedLength) throw sizeMismatch(expectedLength, written);
      const actual = `${digestAlgorithm(digest)}:${hash.digest('hex')}` as Digest;
      if (actual !== digest) throw digestMismatch(digest, actual);
      await this.commit(repo, id, h, written, digest, { session: false });
    } catch (e) {
      await this.blobs.deleteUpload(id, handle).catch(() => {});
      throw e;
    }
  }

  /**
   * A blob of a known digest and length written in parts by a caller that lets others read
   * the bytes already durable while the rest arrives (the pull-through cache: a client joining
   * a fetch under way reads what is stored, then follows). The bytes are hashed as they are
   * written; `commit` refuses (and removes them) unless every byte arrived and the digest
   * matches, so nothing unverified becomes a blob. Not a session: no metadata row, no lease.
   */
  async openBlob(repo: RepoName, digest: Digest, length: number): Promise<BlobWriter> {
    await this.room(repo, length, digest);
    return openBlobWriter(this.blobs, digest, length, {
      stored: this.onStored,
      commit: (id, handle, size, { unflushed }) => this.commit(repo, id, handle, size, digest, { session: false, unflushed }),
    });
  }

  async status(repo: RepoName, id: string): Promise<UploadStatus> {
    const upload = await this.get(repo, id);
    return { id, offset: upload.offset };
  }

  /** Appends a chunk. `range`, when the client sent Content-Range, must start at the current offset. */
  async append(repo: RepoName, id: string, body: AsyncIterable<Buffer>, range?: ChunkRange, contentLength?: number): Promise<UploadStatus> {
    return this.exclusive(repo, id, async (upload, signal) => {
      checkRange(upload.offset, range, contentLength, id);
      const { offset } = await this.write(upload, body, range, contentLength, signal);
      return { id, offset };
    });
  }

  /** Finishes an upload: optional last chunk, then verify `digest` and commit the blob. */
  async finish(repo: RepoName, id: string, digest: Digest, body: AsyncIterable<Buffer> | undefined, range?: ChunkRange, contentLength?: number): Promise<void> {
    return this.exclusive(repo, id, async (upload, signal) => {
      checkRange(upload.offset, range, contentLength, id);
      let { offset, handle } = upload;
      let state = this.takeHash(upload.id, offset);
      if (body) {
        const hash = state?.hash;
        const room = await this.room(repo, contentLength, digest);
        const r = await this.writeBody(id, handle, offset, body, room, hash, contentLength, signal);
        if (range && r.written !== range.end - range.start + 1) throw sizeMismatch(range.end - range.start + 1, r.written);
        if (contentLength !== undefined && r.written !== contentLength) throw sizeMismatch(contentLength, r.written);
        offset += r.written;
        handle = r.handle;
        if (state) state = { offset, hash: state.hash };
      }
      const algorithm = digestAlgorithm(digest);
      const actual =
        state && algorithm === 'sha256'
          ? (`sha256:${state.hash.digest('hex')}` as Digest)
          : await hashStream(await this.blobs.readUpload(id, handle, offset), algorithm);
      if (actual !== digest) {
        // The session stays where it was before this request: the next write at the old
        // offset replaces the bytes of the rejected chunk.
        throw digestMismatch(digest, actual);
      }
      await this.commit(repo, id, handle, offset, digest, { session: true });
    }, { endsSession: true });
  }

  async cancel(repo: RepoName, id: string): Promise<void> {
    const upload = await this.get(repo, id);
    this.hashes.delete(id);
    // Bytes first: on a full disk they free the space the row's delete may need. A session
    // whose bytes are gone fails its next request as unknown, so this order is safe.
    await this.blobs.deleteUpload(id, upload.handle);
    await this.meta.uploads.delete(id);
  }

  /**
   * Writes `body` into the upload at `offset`, hashed on the way (into `hash`, when the session
   * has one) and held to the quota room. A body that may be large streams as a cold pull does:
   * V8 marks all at once and may grow its young generation in one step, so the body's socket
   * buffers cannot set off back-to-back full collections (ops/young-generation.ts; seen in
   * 1 GiB pushes: 38-69 of them, 1.2-1.4 CPU-s on V8's threads, the rate down by 40%).
   */
  private async writeBody(id: string, handle: string, offset: number, body: AsyncIterable<Buffer>, room: UploadRoom, hash: Hash | undefined, length: number | undefined, signal?: AbortSignal): Promise<{ handle: string; written: number }> {
    const ended = length === undefined || length > STREAMED_BYTES ? streaming() : undefined;
    try {
      return await this.blobs.writeUpload(id, handle, offset, tapHash(within(body, room), hash), signal);
    } finally {
      ended?.();
    }
  }

  /** The quota room for a write, refused at once when the declared length does not fit. */
  private async room(repo: RepoName, contentLength: number | undefined, digest?: Digest): Promise<UploadRoom> {
    const room = await this.policy.uploadRoom(repo, digest);
    if (contentLength !== undefined && contentLength > room.bytes) throw room.refusal(contentLength);
    return room;
  }

  private async write(
    upload: { id: string; repository: RepoName; offset: number; handle: string },
    body: AsyncIterable<Buffer>,
    range: ChunkRange | undefined,
    contentLength: number | undefined,
    signal: AbortSignal,
  ): Promise<{ offset: number; handle: string }> {
    const room = await this.room(upload.repository, contentLength);
    const state = this.takeHash(upload.id, upload.offset);
    const { handle, written } = await this.writeBody(upload.id, upload.handle, upload.offset, body, room, state?.hash, contentLength, signal);
    this.onStored(written);
    if (range && written !== range.end - range.start + 1) throw sizeMismatch(range.end - range.start + 1, written);
    if (contentLength !== undefined && written !== contentLength) throw sizeMismatch(contentLength, written);
    const offset = upload.offset + written;
    if (!(await this.meta.uploads.advance(upload.id, upload.offset, offset, handle, this.now()))) {
      throw rangeError(upload.id, (await this.meta.uploads.get(upload.id))?.offset ?? 0, 'the upload moved on in another request');
    }
    if (state) this.keepHash(upload.id, { offset, hash: state.hash });
    return { offset, handle };
  }

  /**
   * Verified bytes become a blob: durable in storage first, then the metadata commit.
   *
   * Garbage collection may be giving up the same digest's bytes at the same moment (the store
   * skips writing bytes that already exist). The byte-deletion fence closes that race: we read
   * the digest's deletion version (waiting out a deletion under way) before placing the bytes,
   * and the metadata transaction refuses to record the blob if a deletion started since, so a
   * blob row never points at bytes a collector removed. See src/lifecycle/gc.ts.
   */
  private async commit(repo: RepoName, id: string, handle: string, size: number, digest: Digest, how: { session: boolean; unflushed?: boolean }): Promise<void> {
    const hasSession = how.session;
    try {
      await this.policy.checkBlobPush(repo, digest, size, hasSession ? id : undefined);
    } catch (e) {
      // A refused push (quota) leaves nothing behind: the session and its bytes go.
      if (hasSession) {
        this.hashes.delete(id);
        await this.meta.uploads.delete(id).catch(() => {});
        await this.blobs.deleteUpload(id, handle).catch(() => {});
      }
      throw e;
    }
    const fence = await this.settledDeletion(digest);
    const placed = await this.blobs.commitUpload(id, handle, size, digest, { unflushed: how.unflushed ?? false });
    const now = this.now();
    try {
      await this.meta.transaction(async (tx) => {
        const state = await tx.blobs.lockDeletionState(digest, now);
        if (state.pending || state.version !== fence) {
          throw new OciError('BLOB_UPLOAD_INVALID', { digest, reason: 'the blob was being garbage-collected while this upload finished; push it again' });
        }
        await tx.blobs.insert({ digest, size }, now);
        await tx.blobs.link(repo, digest, 'pushed', now);
        // The session's bytes are the blob's now: gone from the open uploads before the quota counts.
        if (hasSession) await tx.uploads.delete(id);
        await this.policy.blobLinked(tx, repo, digest);
      });
    } catch (e) {
      // The upload's bytes were consumed by commitUpload; the session cannot continue.
      if (hasSession) await this.meta.uploads.delete(id).catch(() => {});
      if (placed) await this.discardUnrecorded(digest);
      throw e;
    }
  }

  /**
   * Removes bytes a failed commit placed, unless a blob row records them by now (another push
   * of the same content): under the byte-deletion fence, as garbage collection removes bytes,
   * so a push racing this one either sees the fence and is asked to push again, or recorded
   * its row first and the bytes stay. When the database cannot be reached for this either,
   * the bytes stay as an orphan that garbage collection's storage scan removes.
   */
  private async discardUnrecorded(digest: Digest): Promise<void> {
    try {
      if (!(await this.meta.transaction((tx) => tx.fences.raiseUnrecorded(digest, this.now())))) return;
      await this.blobs.delete(digest);
      await this.meta.fences.lower([digest], this.now());
    } catch {
      // A raised fence left pending is finished by the next garbage collection.
    }
  }

  /** The digest's byte-deletion version once no deletion of its bytes is under way. */
  private async settledDeletion(digest: Digest): Promise<number> {
    const deadline = this.now() + 30_000;
    for (;;) {
      const state = await this.meta.blobs.deletionState(digest);
      if (!state.pending) return state.version;
      if (this.now() > deadline) throw new OciError('UNAVAILABLE', { digest, reason: 'garbage collection is removing this blob; retry shortly' });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async get(repo: RepoName, id: string): Promise<UploadRecord> {
    const upload = VALID_ID.test(id) ? await this.meta.uploads.get(id) : undefined;
    if (!upload || upload.repository !== repo) throw unknownUpload(id);
    return upload;
  }

  /** The digest state for an upload at `offset`, removed from the cache (the caller puts it back). */
  private takeHash(id: string, offset: number): HashState | undefined {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    if (state && state.offset === offset) return state;
    return offset === 0 ? { offset: 0, hash: newHash() } : undefined;
  }

  private keepHash(id: string, state: HashState): void {
    if (this.hashes.size >= MAX_HASH_STATES) this.hashes.delete(this.hashes.keys().next().value!);
    this.hashes.set(id, state);
  }

  /**
   * Runs `fn` on the upload, holding its write lease; `fn`'s signal aborts if the lease is lost.
   * Taking the lease reads the row too. When `endsSession` and `fn` succeeded, the session's row
   * is gone with the blob's commit, so there is no lease left to give up.
   */
  private async exclusive<T>(repo: RepoName, id: string, fn: (upload: UploadRecord, signal: AbortSignal) => Promise<T>, opts: { endsSession?: boolean } = {}): Promise<T> {
    const busy = async (): Promise<never> => {
      const upload = await this.meta.uploads.get(id);
      throw rangeError(id, upload?.offset ?? 0, 'another request is writing to this upload');
    };
    if (!VALID_ID.test(id)) throw unknownUpload(id);
    if (this.busy.has(id)) return busy();
    this.busy.add(id);
    const owner = randomUUID();
    const lost = new AbortController();
    let renew: NodeJS.Timeout | undefined;
    let held = false;
    let ended = false;
    try {
      const upload = await this.meta.uploads.lock(id, owner, this.now() + LEASE_MS, this.now());
      held = upload !== undefined;
      if (!upload || upload.repository !== repo) {
        // Gone, another repository's, or leased by another request (which answers with where it stands).
        if (!upload && (await this.meta.uploads.get(id))?.repository === repo) return await busy();
        throw unknownUpload(id);
      }
      renew = setInterval(() => {
        this.meta.uploads.lock(id, owner, this.now() + LEASE_MS, this.now()).then(
          (still) => still !== undefined || lost.abort(new Error('the upload write lease was lost')),
          () => {},
        );
      }, RENEW_MS);
      const result = await fn(upload, lost.signal);
      ended = opts.endsSession === true;
      return result;
    } catch (e) {
      if (e instanceof NotFoundError) {
        // The session's bytes are gone (e.g. a crash after the commit moved them): it can never
        // finish, so it ends here instead of reporting an offset it cannot continue from.
        await this.meta.uploads.delete(id).catch(() => {});
        this.hashes.delete(id);
        throw unknownUpload(id);
      }
      throw e;
    } finally {
      clearInterval(renew);
      this.busy.delete(id);
      if (held && !ended) await this.meta.uploads.unlock(id, owner).catch(() => this.unlockLater(id, owner));
    }
  }

  /** Retries giving up a lease until it succeeds or the lease ran out anyway. */
  private unlockLater(id: string, owner: string): void {
    const until = this.now() + LEASE_MS;
    const attempt = () => {
      if (this.now() >= until) return;
      this.meta.uploads.unlock(id, owner).catch(() => void setTimeout(attempt, UNLOCK_RETRY_MS).unref());
    };
    setTimeout(attempt, UNLOCK_RETRY_MS).unref();
  }

}

/**
 * Passes `body` through while it stays within `room`; more is refused with the quota's error.
 * The source is iterated by hand and left open on refusal: ending a `for await` would destroy
 * the request and its socket before the error could be answered (the error handler closes
 * the connection instead of reading the rest).
 */
async function* within(body: AsyncIterable<Buffer>, room: UploadRoom): AsyncIterable<Buffer> {
  if (!Number.isFinite(room.bytes)) return yield* body;
  const source = body[Symbol.asyncIterator]();
  let total = 0;
  for (;;) {
    const next = await source.next();
    if (next.done) return;
    total += next.value.length;
    if (total > room.bytes) throw room.refusal(total);
    yield next.value;
  }
}
