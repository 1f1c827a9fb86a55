/**
 * Storage faults for tests, injected by wrapping the real dependencies a store is built with
 * (production code carries no hooks): a file system whose handles write short and then fail
 * with ENOSPC once a byte budget is spent, as a filling disk does, and an S3 client whose
 * PutObject fails with QuotaExceeded past the same kind of budget (S3 takes an object whole or
 * not at all, so it has no short writes).
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { nodeFs, type FsOps } from '../../src/storage/fs/fs-blob-store.js';

export interface WriteFaults {
  /** The most bytes one write call takes (a short write returns fewer than asked). */
  maxWriteBytes?: number;
  /** Bytes the storage takes in all before every further write fails as full. */
  freeBytes?: number;
}

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** File system calls whose writes (`writevSync`, and handles' `write`/`writev`) obey `faults`. */
export function faultyFs(faults: WriteFaults): FsOps {
  let used = 0;
  /** How many of `asked` bytes the next write takes; throws ENOSPC when none. */
  const allow = (asked: number): number => {
    const free = (faults.freeBytes ?? Infinity) - used;
    if (asked > 0 && free <= 0) throw enospc();
    return Math.min(asked, faults.maxWriteBytes ?? Infinity, free);
  };
  /** The front of `buffers` that the next write takes. */
  const taken = (buffers: Buffer[]): Buffer[] => {
    const out: Buffer[] = [];
    for (let left = allow(buffers.reduce((n, b) => n + b.length, 0)), i = 0; left > 0; i++) {
      const b = buffers[i]!.subarray(0, left);
      out.push(b);
      left -= b.length;
    }
    return out;
  };
  const wrap = (fh: FileHandle): FileHandle =>
    new Proxy(fh, {
      get(target, prop, receiver) {
        if (prop === 'writev') {
          return async (buffers: Buffer[], position?: number) => {
            const r = await target.writev(taken(buffers), position);
            used += r.bytesWritten;
            return { bytesWritten: r.bytesWritten, buffers };
          };
        }
        if (prop === 'write') {
          return async (buffer: Buffer, offset = 0, length = buffer.length - offset, position?: number) => {
            const n = allow(length);
            const r = await target.write(buffer, offset, n, position);
            used += r.bytesWritten;
            return { bytesWritten: r.bytesWritten, buffer };
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return {
    ...nodeFs,
    open: async (path, flags) => wrap(await open(path, flags)),
    writevSync(fd, buffers, position) {
      const written = nodeFs.writevSync(fd, taken(buffers), position);
      used += written;
      return written;
    },
  };
}

/** An S3 client whose PutObject fails with QuotaExceeded once `faults.freeBytes` are stored. */
export function faultyS3(client: S3Client, faults: WriteFaults): S3Client {
  let used = 0;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'send') {
        return async (command: unknown, options?: unknown) => {
          if (command instanceof PutObjectCommand) {
            const size = Number(command.input.ContentLength ?? (command.input.Body as Buffer | undefined)?.length ?? 0);
            if (used + size > (faults.freeBytes ?? Infinity)) {
              throw Object.assign(new Error('quota exceeded'), { name: 'QuotaExceeded', $metadata: { httpStatusCode: 403 } });
            }
            used += size;
          }
          return (target.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
