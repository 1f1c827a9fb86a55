/**
 * Group commit over one flush (an fsync of a file or a folder): writers note what they
 * changed, then wait in `sync()` until a flush that started after their note has completed.
 * Writers arriving while a flush runs share the next one, so concurrent pushes pay for one
 * fsync of the SQLite WAL, or of a blob folder, instead of one each. Nothing resolves before
 * the flush that covers it.
 */
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
