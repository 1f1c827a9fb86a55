/**
 * Reads an image's layers once, in order, and keeps only the files the package readers want,
 * as the container would see them: a later layer's file replaces an earlier one, a whiteout
 * (`.wh.NAME`) deletes NAME and everything under it from the layers below, and an opaque
 * whiteout (`.wh..wh..opq`) hides everything below in its directory. Whiteouts of a layer
 * apply to the layers under it only, so each layer's files are merged after its whiteouts.
 *
 * Each layer streams through the decompressor (gzip by node:zlib, zstd by fzstd, chosen by
 * the first bytes, so a mislabelled media type still reads) into the tar parser; bytes of
 * files nobody wants are drained, never held, so memory is bounded by the wanted files (each
 * capped by the size the wanter names). A layer that is not a valid archive rejects.
 */
import { once } from 'node:events';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import tar from 'tar-stream';

export interface LayerSource {
  /** The layer's bytes as stored (compressed or not). */
  open(): Promise<Readable>;
}

/** The most bytes of a file worth keeping, or 0 to skip it. Paths have no leading slash. */
export type WantFile = (path: string, size: number) => number;

/**
 * A probe looks for something inside files too big to keep whole (the build info of a Go or
 * Rust binary): it sees the file's chunks as they stream by and returns what it kept (at most
 * a few KiB), or undefined.
 */
export interface Probe {
  push(chunk: Buffer): void;
  end(): Buffer | undefined | Promise<Buffer | undefined>;
}
/** Whether to probe a regular file nobody wants whole (by its path, size and mode), and how. */
export type ProbeFile = (path: string, size: number, mode: number) => Probe | undefined;

export interface WalkResult {
  files: Map<string, Buffer>;
  /** Entries read across every layer. */
  entries: number;
  /** Uncompressed bytes read. */
  bytes: number;
}

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

/** zstd frames through fzstd's streaming decompressor. */
class Unzstd extends Transform {
  private readonly z = new Decompress((data) => this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    try {
      this.z.push(chunk);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: (e?: Error | null) => void): void {
    try {
      this.z.push(new Uint8Array(0), true);
      done();
    } catch (e) {
      done(e as Error);
    }
  }
}

/** The first bytes of `source`, left in place for the next reader. */
async function peek(source: Readable): Promise<Buffer> {
  for (;;) {
    const chunk = source.read() as Buffer | null;
    if (chunk) {
      source.unshift(chunk);
      return chunk;
    }
    if (source.readableEnded || source.destroyed) return Buffer.alloc(0);
    await Promise.race([once(source, 'readable'), once(source, 'end')]);
  }
}

/** A decompressor for what `first` starts with: gzip, zstd, or none (a plain tar). */
function decompressorFor(first: Buffer): Transform | null {
  if (GZIP.every((b, i) => first[i] === b)) return createGunzip();
  if (ZSTD.every((b, i) => first[i] === b)) return new Unzstd();
  return null;
}

function normalize(name: string): string {
  return name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}

const under = (path: string, dir: string): boolean => dir === '' || path === dir || path.startsWith(`${dir}/`);

/** Walks `layers` bottom to top; resolves to the wanted files of the merged file system. */
export async function walkLayers(layers: readonly LayerSource[], want: WantFile, signal?: AbortSignal, probe?: ProbeFile): Promise<WalkResult> {
  const files = new Map<string, Buffer>();
  let entries = 0;
  let bytes = 0;
  for (const layer of layers) {
    const added = new Map<string, Buffer>();
    const deleted: string[] = [];
    const replaced = new Set<string>();
    const opaque: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      // An abort (or a damaged layer) destroys the entry being read with the same error the
      // walk's pipeline rejects with; unheard, the entry's copy of it would end the process.
      stream.on('error', () => {});
      entries++;
      bytes += header.size ?? 0;
      const path = normalize(header.name);
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      const dir = slash >= 0 ? path.slice(0, slash) : '';
      if (base === '.wh..wh..opq') opaque.push(dir);
      else if (base.startsWith('.wh.')) deleted.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
      else {
        // An entry replaces whatever this path held below, even a file we kept.
        added.delete(path);
        replaced.add(path);
        const limit = header.type === 'file' || header.type === 'contiguous-file' ? want(path, header.size ?? 0) : 0;
        if (limit > 0 && (header.size ?? 0) <= limit) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: unknown) => {
            chunks.push(c as Buffer);
          });
          stream.on('end', () => {
            added.set(path, Buffer.concat(chunks));
            next();
          });
          return;
        }
        const mode = header.mode ?? 0;
        const p = header.type === 'file' || header.type === 'contiguous-file' ? probe?.(path, header.size ?? 0, mode) : undefined;
        if (p) {
          stream.on('data', (c: unknown) => p.push(c as Buffer));
          stream.on('end', () => {
            Promise.resolve(p.end()).then(
              (kept) => {
                if (kept) added.set(path, kept);
                next();
              },
              (e: Error) => next(e),
            );
          });
          return;
        }
      }
      stream.on('end', () => next());
      stream.resume();
    });
    const source = await layer.open();
    const unpack = decompressorFor(await peek(source));
    if (unpack) await pipeline(source, unpack, extract, { signal });
    else await pipeline(source, extract, { signal });
    for (const d of opaque) for (const p of [...files.keys()]) if (p !== d && under(p, d)) files.delete(p);
    for (const d of deleted) for (const p of [...files.keys()]) if (under(p, d)) files.delete(p);
    for (const p of replaced) files.delete(p);
    for (const [p, b] of added) files.set(p, b);
  }
  return { files, entries, bytes };
}
