/**
 * A small tmpfs for tests that fill a disk: mounted by the test (as root, as CI runs), removed
 * at the end. Elsewhere (not root, or no permission to mount) tests skip with the reason; under
 * CI=true a tmpfs that cannot be mounted is an error, so the run fails instead of skipping.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Tmpfs {
  dir: string;
  /** Bytes free for files on it. */
  free(): Promise<number>;
  /** Writes a filler file so that about `bytes` stay free; `release` removes it. */
  leaveFree(bytes: number): Promise<{ release(): Promise<void> }>;
  unmount(): Promise<void>;
}

/** Why tmpfs tests cannot run here, or undefined (under CI=true, throws instead). */
export function tmpfsSkipReason(): string | undefined {
  const reason = process.getuid?.() === 0 ? undefined : 'needs root to mount a tmpfs (CI runs these tests as root)';
  if (reason && process.env.CI === 'true') throw new Error(`${reason}; required under CI=true`);
  return reason;
}

export async function mountTmpfs(size: string): Promise<Tmpfs> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-tmpfs-'));
  await exec('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  let fillers = 0;
  const free = async () => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    free,
    async leaveFree(bytes) {
      const path = join(dir, `filler-${fillers++}`);
      const fh = await open(path, 'w');
      try {
        const excess = (await free()) - bytes;
        const chunk = Buffer.alloc(64 * 1024, 1);
        for (let left = excess; left > 0; left -= chunk.length) await fh.write(chunk, 0, Math.min(chunk.length, left));
      } finally {
        await fh.close();
      }
      return { release: () => rm(path, { force: true }) };
    },
    async unmount() {
      await exec('umount', ['-l', dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
