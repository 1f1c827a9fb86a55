/**
 * Group commit over one flush (an fsync of a file or a folder): writers note what they
 * changed, then wait in `sync()` until a flush that started after their note has completed.
 * Writers arriving while a flush runs share the next one, so concurrent pushes pay for one
 * fsync of the SQLite WAL, or of a blob folder, instead of one each. Nothing resolves before
 * the flush that covers it.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** One group commit: `note()` a change, then `sync()` until a flush that covers it has completed. */
export class SyncGroup {
  private noted = 0;
  private synced = 0;
  private running: Promise<void> | undefined;
  /** Flushes made (for tests and diagnostics). */
  syncs = 0;

  constructor(private readonly flush: () => Promise<void>) {}

  /** Records a change that the next flush must cover (call it once the change is made). */
  note(): void {
    this.noted++;
  }

  /** Resolves once every change noted before the call is flushed; rejects if the flush that covers it fails. */
  async sync(): Promise<void> {
    const upTo = this.noted;
    while (this.synced < upTo) {
      this.running ??= this.run().finally(() => {
        this.running = undefined;
      });
      await this.running;
    }
  }

  /** Whether a flush is under way. */
  get flushing(): boolean {
    return this.running !== undefined;
  }

  /** Waits for a flush under way (its outcome aside). */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  private async run(): Promise<void> {
    // Only changes noted before the flush starts are covered by it.
    const target = this.noted;
    await this.flush();
    this.syncs++;
    this.synced = Math.max(this.synced, target);
  }
}

/**
 * The fsyncs of folders (the blob store's), each a SyncGroup whose folder handle stays open
 * after its first flush: no open and close per commit. Bounded by what the caller syncs (the
 * blob layout: 256 prefix folders per digest algorithm and their parents).
 */
export class FolderSyncs {
  private readonly folders = new Map<string, { group: SyncGroup; handle?: FileHandle }>();

  /** Whether `dir` has been synced here (so it existed then). */
  has(dir: string): boolean {
    return this.folders.has(dir);
  }

  /** Resolves once the entries of `dir` as they are now are durable. */
  async sync(dir: string): Promise<void> {
    let folder = this.folders.get(dir);
    if (!folder) {
      const f: { group: SyncGroup; handle?: FileHandle } = {
        group: new SyncGroup(async () => {
          f.handle ??= await open(dir, 'r');
          await f.handle.sync();
        }),
      };
      this.folders.set(dir, (folder = f));
    }
    folder.group.note();
    await folder.group.sync();
  }

  /** Drops `dir` (removed from outside, say): its handle is closed, and a later sync opens the folder anew. */
  async forget(dir: string): Promise<void> {
    const folder = this.folders.get(dir);
    if (!folder) return;
    this.folders.delete(dir);
    await folder.group.idle();
    const handle = folder.handle;
    // A caller still waiting on this group reopens the folder rather than use a closed handle.
    folder.handle = undefined;
    await handle?.close().catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.all([...this.folders.keys()].map((d) => this.forget(d)));
  }
}
