/**
 * The upload area of the S3 blob store. Clients send chunks of any size, while S3 multipart
 * parts must be at least 5 MiB (except the last) and parts of an unfinished multipart upload
 * can be neither read nor partly rewritten. So a write stages the bytes as ordinary objects:
 * whole parts of exactly `partSize` bytes and one tail object with the rest; the handle (see
 * upload-handle.ts) names them. Staged objects can be read back (to rebuild a digest state on
 * another node) and a rewrite at an earlier offset re-stages only the part it starts in.
 *
 * The commit assembles the staged objects into the blob's content-addressed key with one
 * server-side multipart copy (UploadPartCopy of each part, then CompleteMultipartUpload), so
 * the blob appears atomically, no byte passes through Berth twice and the 5 GiB limit of a
 * single CopyObject is never reached. Memory: at most three part buffers per write in progress.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { asStorageFull, NotFoundError } from '../../errors/store.js';
import type { Digest } from '../../domain/names.js';
import { isS3NotFound, type S3Keys } from './client.js';
import {
  MAX_PARTS,
  decodeHandle,
  emptyHandle,
  encodeHandle,
  newGeneration,
  partName,
  runsBelow,
  stagedObjects,
  tailName,
  type UploadHandle,
} from './upload-handle.js';

const STARTED = 'started';
const COMMIT = 'commit';
/** Part copies a commit runs at once. */
const COPY_CONCURRENCY = 4;
/** Part uploads a write keeps in flight (each holds one part buffer). */
const PARALLEL_PARTS = 2;

export class S3Uploads {
  constructor(
    private readonly client: S3Client,
    private readonly keys: S3Keys,
    private readonly partSize: number,
  ) {}

  async create(id: string): Promise<string> {
    await this.put(id, STARTED, Buffer.alloc(0));
    return encodeHandle(emptyHandle(this.partSize));
  }

  async write(id: string, handle: string, offset: number, source: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<{ handle: string; written: number }> {
    try {
      return await this.writeStaged(id, handle, offset, source, signal);
    } catch (e) {
      // Objects staged by a failed write are named by no handle, so the persisted handle still
      // holds exactly its bytes; they go when the upload is committed or removed (both delete
      // everything under the upload's folder).
      throw asStorageFull(e) ?? e;
    }
  }

  private async writeStaged(id: string, handle: string, offset: number, source: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<{ handle: string; written: number }> {
    const h = decodeHandle(handle);
    await this.requireStarted(id, signal);
    if (offset > h.s) throw new Error(`upload ${id}: write at ${offset} is past the ${h.s} stored bytes`);
    // `h` is the persisted state, so what its predecessor dropped is garbage by now.
    const cleanup = this.deleteNames(id, h.drop).catch(() => {});

    const keptParts = Math.floor(offset / h.p);
    const old = stagedObjects(h);
    const parts = new PartWriter(id, h.p, keptParts, (name, body) => this.put(id, name, body, signal));
    let written = 0;
    let begun = false;
    // Bytes between the last kept whole part and `offset` are re-staged with the new ones.
    const begin = async () => {
      begun = true;
      const lead = offset - keptParts * h.p;
      if (lead === 0) return;
      const from = old.find((o) => o.start === keptParts * h.p);
      if (!from) throw new Error(`upload ${id}: handle has no object at ${keptParts * h.p}`);
      await parts.preload((buf) => this.readInto(id, from.name, buf, lead, signal));
    };

    for await (const chunk of source) {
      if (chunk.length === 0) continue;
      signal?.throwIfAborted();
      if (!begun) await begin();
      await parts.add(chunk);
      written += chunk.length;
    }
    if (!begun && offset === h.s) {
      await cleanup;
      return { handle: encodeHandle({ ...h, drop: [] }), written: 0 };
    }
    if (!begun) await begin();
    const staged = await parts.finish();
    await cleanup;

    const next: UploadHandle = {
      v: 1,
      p: h.p,
      s: offset + written,
      r: staged.lastPart >= keptParts ? [...runsBelow(h, keptParts), [parts.generation, keptParts, staged.lastPart]] : runsBelow(h, keptParts),
      t: staged.tail ? parts.generation : '',
      drop: old.filter((o) => o.start + o.size > keptParts * h.p).map((o) => o.name),
    };
    return { handle: encodeHandle(next), written };
  }

  async read(id: string, handle: string, length: number, signal?: AbortSignal): Promise<Readable> {
    const h = decodeHandle(handle);
    if (length > h.s) throw new Error(`upload ${id}: ${length} bytes asked, ${h.s} stored`);
    await this.requireStarted(id, signal);
    const objects = stagedObjects(h).filter((o) => o.start < length);
    const self = this;
    async function* bytes(): AsyncIterable<Buffer> {
      for (const o of objects) {
        const n = Math.min(o.size, length - o.start);
        for await (const chunk of await self.get(id, o.name, n, signal)) yield chunk as Buffer;
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async commit(id: string, handle: string, size: number, digest: Digest): Promise<boolean> {
    const h = decodeHandle(handle);
    if (size > h.s) throw new NotFoundError(`upload ${id}: commit of ${size} bytes, ${h.s} stored`);
    await this.requireStarted(id);
    const key = this.keys.blob(digest);
    // An intact copy stays; a missing or wrong-sized one is replaced (a re-push repairs it).
    // Writing a key replaces its object atomically.
    let placed = false;
    if ((await this.size(key)) !== size) {
      const pieces = stagedObjects(h)
        .filter((o) => o.start < size)
        .map((o) => ({ key: this.keys.upload(id) + o.name, length: Math.min(o.size, size - o.start), whole: o.start + o.size <= size }));
      try {
        if (pieces.length === 0) {
          await this.client.send(new PutObjectCommand({ Bucket: this.keys.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0 }));
        } else if (pieces.length === 1 && pieces[0]!.whole) {
          await this.client.send(new CopyObjectCommand({ Bucket: this.keys.bucket, Key: key, CopySource: this.keys.copySource(pieces[0]!.key) }));
        } else {
          await this.multipartCopy(id, key, pieces);
        }
      } catch (e) {
        throw asStorageFull(e) ?? e;
      }
      // The staged objects' sizes were never read back: the assembled object proves them.
      const stored = await this.size(key);
      if (stored !== size) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.keys.bucket, Key: key })).catch(() => {});
        throw new Error(`blob ${digest} holds ${stored} bytes after its commit, ${size} expected`);
      }
      placed = true;
    }
    await this.removeObjects(id);
    return placed;
  }

  /** Size of an object, or undefined when it is absent. */
  private async size(key: string): Promise<number | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.keys.bucket, Key: key }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isS3NotFound(e)) return undefined;
      throw e;
    }
  }

  async remove(id: string): Promise<void> {
    // A commit that died between CreateMultipartUpload and Complete left its parts behind.
    const pending = await this.readCommitMarker(id);
    if (pending) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.keys.bucket, Key: pending.key, UploadId: pending.uploadId }))
        .catch((e: unknown) => {
          if (!isS3NotFound(e)) throw e;
        });
    }
    await this.removeObjects(id);
  }

  async *list(signal?: AbortSignal): AsyncIterable<{ id: string; modifiedAt: Date }> {
    // Keys come sorted, so the objects of one upload are consecutive.
    let current: { id: string; modifiedAt: Date } | undefined;
    for await (const o of this.listKeys(this.keys.uploadsPrefix, signal)) {
      const id = o.key.slice(this.keys.uploadsPrefix.length).split('/')[0]!;
      if (current && current.id !== id) yield current;
      if (!current || current.id !== id) current = { id, modifiedAt: o.modified };
      else if (o.modified > current.modifiedAt) current.modifiedAt = o.modified;
    }
    if (current) yield current;
  }

  /** Objects under `prefix` in key order, page by page (ListObjectsV2 with continuation). */
  async *listKeys(prefix: string, signal?: AbortSignal, pageSize?: number): AsyncIterable<{ key: string; size: number; modified: Date }> {
    let token: string | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.keys.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: pageSize }),
        signal ? { abortSignal: signal } : {},
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async multipartCopy(id: string, key: string, pieces: { key: string; length: number; whole: boolean }[]): Promise<void> {
    const bucket = this.keys.bucket;
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    if (!UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    try {
      await this.put(id, COMMIT, Buffer.from(JSON.stringify({ key, uploadId: UploadId })));
      const etags: string[] = new Array(pieces.length);
      let next = 0;
      const worker = async () => {
        while (next < pieces.length) {
          const i = next++;
          const p = pieces[i]!;
          const r = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: key,
              UploadId,
              PartNumber: i + 1,
              CopySource: this.keys.copySource(p.key),
              ...(p.whole ? {} : { CopySourceRange: `bytes=0-${p.length - 1}` }),
            }),
          );
          if (!r.CopyPartResult?.ETag) throw new Error(`UploadPartCopy of part ${i + 1} returned no ETag`);
          etags[i] = r.CopyPartResult.ETag;
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, pieces.length) }, worker));
      // Ceph RGW answers with an empty ETag here; the parts were checked one by one above.
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
    } catch (e) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => {});
      throw e;
    }
  }

  private async readCommitMarker(id: string): Promise<{ key: string; uploadId: string } | undefined> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of await this.get(id, COMMIT)) chunks.push(c as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { key: string; uploadId: string };
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  private async removeObjects(id: string): Promise<void> {
    const keys: string[] = [];
    for await (const o of this.listKeys(this.keys.upload(id))) keys.push(o.key);
    // The marker goes last, so an interrupted removal still shows up in listUploads.
    const marker = this.keys.upload(id) + STARTED;
    await this.deleteKeys(keys.filter((k) => k !== marker));
    await this.deleteKeys(keys.filter((k) => k === marker));
  }

  private async deleteNames(id: string, names: string[]): Promise<void> {
    await this.deleteKeys(names.map((n) => this.keys.upload(id) + n));
  }

  async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const r = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.keys.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`delete of ${failed[0]!.Key} failed: ${failed[0]!.Code} ${failed[0]!.Message}`);
    }
  }

  private async requireStarted(id: string, signal?: AbortSignal): Promise<void> {
    if (!(await this.exists(this.keys.upload(id) + STARTED, signal))) throw new NotFoundError(`upload ${id}`);
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.keys.bucket, Key: key }), signal ? { abortSignal: signal } : {});
      return true;
    } catch (e) {
      if (isS3NotFound(e)) return false;
      throw e;
    }
  }

  private async put(id: string, name: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.keys.bucket, Key: this.keys.upload(id) + name, Body: body, ContentLength: body.length }),
      signal ? { abortSignal: signal } : {},
    );
  }

  /** The first `length` bytes of a staged object (all of it when length is undefined). */
  private async get(id: string, name: string, length?: number, signal?: AbortSignal): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.keys.bucket, Key: this.keys.upload(id) + name, ...(length !== undefined ? { Range: `bytes=0-${length - 1}` } : {}) }),
        signal ? { abortSignal: signal } : {},
      );
      return r.Body as Readable;
    } catch (e) {
      if (isS3NotFound(e)) throw new NotFoundError(`upload ${id}: ${name} is missing`);
      throw e;
    }
  }

  private async readInto(id: string, name: string, buf: Buffer, length: number, signal?: AbortSignal): Promise<number> {
    let fill = 0;
    for await (const chunk of await this.get(id, name, length, signal)) {
      const c = chunk as Buffer;
      c.copy(buf, fill, 0, Math.min(c.length, length - fill));
      fill += c.length;
    }
    if (fill !== length) throw new Error(`upload ${id}: ${name} has ${fill} bytes, ${length} expected`);
    return fill;
  }
}

/**
 * Cuts the bytes of one write into whole parts of `partSize` bytes, staged under a new
 * generation from part `firstPart` on, and a tail object with the rest. Up to PARALLEL_PARTS
 * parts upload while the next one fills.
 */
class PartWriter {
  readonly generation = newGeneration();
  private buf: Buffer;
  private fill = 0;
  private nextPart: number;
  private readonly inflight: Promise<void>[] = [];

  constructor(
    private readonly id: string,
    private readonly partSize: number,
    firstPart: number,
    private readonly put: (name: string, body: Buffer) => Promise<void>,
  ) {
    this.buf = Buffer.allocUnsafe(partSize);
    this.nextPart = firstPart;
  }

  /** Fills the start of the first part (bytes kept from before the write); `read` returns how many it wrote. */
  async preload(read: (buf: Buffer) => Promise<number>): Promise<void> {
    this.fill = await read(this.buf);
  }

  async add(chunk: Buffer): Promise<void> {
    for (let pos = 0; pos < chunk.length; ) {
      const n = Math.min(chunk.length - pos, this.partSize - this.fill);
      chunk.copy(this.buf, this.fill, pos, pos + n);
      this.fill += n;
      pos += n;
      if (this.fill === this.partSize) await this.flushPart();
    }
  }

  private async flushPart(): Promise<void> {
    if (this.nextPart >= MAX_PARTS) throw new Error(`upload ${this.id}: more than ${MAX_PARTS} parts of ${this.partSize} bytes`);
    if (this.inflight.length >= PARALLEL_PARTS) await this.inflight.shift();
    const put = this.put(partName(this.generation, this.nextPart++), this.buf);
    put.catch(() => {});
    this.inflight.push(put);
    this.buf = Buffer.allocUnsafe(this.partSize);
    this.fill = 0;
  }

  /** Waits for the parts in flight and stages the rest as the tail: the last whole part's index, and whether a tail was staged. */
  async finish(): Promise<{ lastPart: number; tail: boolean }> {
    await Promise.all(this.inflight);
    if (this.fill > 0) await this.put(tailName(this.generation), this.buf.subarray(0, this.fill));
    return { lastPart: this.nextPart - 1, tail: this.fill > 0 };
  }
}
