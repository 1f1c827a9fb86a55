/**
 * Server memory, read from /proc/<pid>/status: VmRSS sampled every 50 ms during a phase, and
 * VmHWM (the kernel's own peak), which is reset at the start of each phase by writing 5 to
 * /proc/<pid>/clear_refs so that a phase's peak is its own. The larger of the two is reported.
 */
import { readFileSync, writeFileSync } from 'node:fs';

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export class RssProbe {
  private peakKiB = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the kernel peak could be reset (root, or the server runs as our user). */
  resettable = true;

  constructor(private readonly pid: number) {}

  start(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      this.resettable = false;
    }
    this.peakKiB = statusKiB(this.pid, 'VmRSS');
    this.timer = setInterval(() => {
      try {
        this.peakKiB = Math.max(this.peakKiB, statusKiB(this.pid, 'VmRSS'));
      } catch {
        // the process is gone; the phase will fail on its own
      }
    }, 50);
  }

  /** Stops sampling; the phase's peak in MB (10^6 bytes, as the targets are written). */
  stop(): number {
    clearInterval(this.timer);
    let peak = this.peakKiB;
    if (this.resettable) peak = Math.max(peak, statusKiB(this.pid, 'VmHWM'));
    return (peak * 1024) / 1e6;
  }

  /** The current RSS in MB. */
  current(): number {
    return (statusKiB(this.pid, 'VmRSS') * 1024) / 1e6;
  }
}
